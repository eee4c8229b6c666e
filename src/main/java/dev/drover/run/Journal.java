package dev.drover.run;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.FileOutputStream;
import java.io.RandomAccessFile;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The run's append-only journal of state changes: one {@link JournalEntry} per line. Each line is written to the file
 * at once (so a killed drover loses nothing it had recorded) and forced to disk within {@link Journals#SYNC_MILLIS},
 * or at once for {@link #appendAndSync} (run acceptance). A line cut short by a crash has no newline and is
 * ignored on reading. Opened through {@link Journals}, which owns the timer that syncs it.
 */
public final class Journal implements Closeable {

    public static final String FILE = "journal.log";

    private final Path file;
    private final FileOutputStream out;
    private final FileLock ownership;
    private final Consumer<Journal> onClose;
    private volatile boolean dirty;
    private volatile boolean closed;

    private Journal(Path file, FileOutputStream out, FileLock ownership, Consumer<Journal> onClose) {
        this.file = file;
        this.out = out;
        this.ownership = ownership;
        this.onClose = onClose;
    }

    /** Another live drover process holds the run: its journal is locked. */
    public static final class OwnedElsewhere extends RuntimeException {
        OwnedElsewhere(Path runDir) {
            super(runDir + " belongs to another running drover process");
        }
    }

    /**
     * Opens (or creates) the journal in a run directory for appending and takes an exclusive lock on it for as long
     * as it is open: no second drover process can take over a live run. A line a crash cut short stays until
     * {@link #endLineCutShort}, so that Recovery can read the journal first. Writes go through a stream, not an
     * interruptible channel, so that an interrupted lane thread cannot close it.
     *
     * @throws OwnedElsewhere when another process has it open
     */
    static Journal openUnended(Path runDir, Consumer<Journal> onClose) {
        Path file = runDir.resolve(FILE);
        FileOutputStream out = null;
        try {
            out = new FileOutputStream(file.toFile(), true);
            FileLock lock;
            try {
                lock = out.getChannel().tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                out.close();
                throw new OwnedElsewhere(runDir);
            }
            return new Journal(file, out, lock, onClose);
        } catch (IOException e) {
            closeQuietly(out);
            throw new UncheckedIOException("cannot open the journal in " + runDir, e);
        }
    }

    /**
     * Creates the journal of a new run with its first entry, locked as {@link #openUnended}: written and synced under a
     * temporary name, then renamed, so that journal.log (what makes a folder a run) never exists without that entry,
     * wherever a kill lands. A journal that did (an older drover's, killed between creating and writing it) is no run
     * ({@link #hasEntry}).
     */
    static Journal create(Path runDir, JournalEntry first, Consumer<Journal> onClose) {
        Path temp = runDir.resolve("." + FILE + ".new");
        FileOutputStream out = null;
        try {
            out = new FileOutputStream(temp.toFile());
            FileLock lock = out.getChannel().lock();
            out.write(line(first));
            out.getChannel().force(false);
            Path file = Files.move(temp, runDir.resolve(FILE), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return new Journal(file, out, lock, onClose);
        } catch (IOException e) {
            closeQuietly(out);
            throw new UncheckedIOException("cannot create the journal in " + runDir, e);
        }
    }

    /** Whether a run's journal holds a complete line: its first, "accepted" (a run's is short), is whole. */
    static boolean hasEntry(Path runDir) {
        try (java.io.InputStream in = Files.newInputStream(runDir.resolve(FILE))) {
            byte[] head = in.readNBytes(4096);
            for (byte b : head) {
                if (b == '\n') {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    private static byte[] line(JournalEntry entry) {
        return (entry.encode() + '\n').getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Removes a line a crash cut short (the bytes after the last newline), so that the next line starts on its own and
     * no later reading can mistake the cut one for a whole line with a shorter value.
     */
    void endLineCutShort() {
        try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
            long end = in.length();
            long complete = end;
            while (complete > 0) {
                in.seek(complete - 1);
                if (in.read() == '\n') {
                    break;
                }
                complete--;
            }
            if (complete < end) {
                out.getChannel().truncate(complete);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the journal " + file, e);
        }
    }

    /** Appends one entry; after {@link #close} (the run has finished) nothing more is recorded. */
    public void append(JournalEntry entry) {
        byte[] bytes = line(entry);
        synchronized (this) {
            if (closed) {
                return;
            }
            try {
                out.write(bytes);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the journal", e);
            }
        }
        dirty = true;
    }

    public void appendAndSync(JournalEntry entry) {
        append(entry);
        sync();
    }

    /**
     * Forces what was written to disk (fdatasync). Not under the write lock: appends go on while the disk catches
     * up. Only the sync thread and the owner's own calls get here, never an interrupted lane thread.
     */
    public void sync() {
        if (dirty && !closed) {
            dirty = false;
            try {
                out.getChannel().force(false);
            } catch (IOException e) {
                if (!closed) {
                    dirty = true;
                    throw new UncheckedIOException("cannot sync the journal", e);
                }
            }
        }
    }

    void syncQuietly() {
        try {
            sync();
        } catch (UncheckedIOException ignored) {
            // retried on the next tick
        }
    }

    @Override
    public void close() {
        onClose.accept(this);
        try {
            sync();
        } catch (UncheckedIOException ignored) {
            // closing after a failed disk: the journal holds what it could
        }
        synchronized (this) {
            closed = true;
            try {
                ownership.release();
            } catch (IOException ignored) {
                // closing the stream releases it too
            }
            closeQuietly(out);
        }
    }

    private static void closeQuietly(FileOutputStream stream) {
        if (stream != null) {
            try {
                stream.close();
            } catch (IOException ignored) {
                // nothing more to do
            }
        }
    }

    /**
     * The complete lines of a run's journal, each split into its fields, for tests and tools that look at the raw
     * lines; drover itself reads entries ({@link #forEachEntry}). An unfinished last line is dropped.
     */
    public static List<String[]> read(Path runDir) {
        List<String[]> lines = new ArrayList<>();
        forEachLine(runDir, line -> lines.add(line.split("\t", -1)));
        return lines;
    }

    /** As below, skipping the lines that do not parse: for readers that only show what the journal says. */
    public static void forEachEntry(Path runDir, Consumer<JournalEntry> each) {
        forEachEntry(runDir, each, malformed -> { });
    }

    /**
     * Hands each entry of a run's journal to {@code each} as it is read: a restart replays a million-task journal
     * (70 MB) without holding it in memory. An unfinished last line is dropped, and so are lines of kinds this
     * version does not know; a line that does not parse goes to {@code malformed} and reading goes on.
     */
    public static void forEachEntry(Path runDir, Consumer<JournalEntry> each, Consumer<JournalEntry.Malformed> malformed) {
        JournalEntry.Decoder decoder = new JournalEntry.Decoder();
        forEachLine(runDir, line -> {
            JournalEntry entry;
            try {
                entry = decoder.decode(line);
            } catch (JournalEntry.Malformed e) {
                malformed.accept(e);
                return;
            }
            if (entry != null) {
                each.accept(entry);
            }
        });
    }

    private static void forEachLine(Path runDir, Consumer<String> each) {
        // a crash can cut a multi-byte character: replaced, never a reason not to read the rest
        java.nio.charset.CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPLACE)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPLACE);
        try (java.io.Reader in = new java.io.InputStreamReader(Files.newInputStream(runDir.resolve(FILE)), utf8)) {
            char[] buffer = new char[1 << 16];
            StringBuilder line = new StringBuilder(128);
            for (int n; (n = in.read(buffer)) > 0; ) {
                int start = 0;
                for (int i = 0; i < n; i++) {
                    if (buffer[i] == '\n') {
                        line.append(buffer, start, i - start);
                        if (line.length() > 0) {
                            each.accept(line.toString());
                        }
                        line.setLength(0);
                        start = i + 1;
                    }
                }
                line.append(buffer, start, n - start);
            }
        } catch (NoSuchFileException e) {
            // no journal: no lines
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The journal's last complete entry, read from the end of the file (a finished run's is {@link
     * JournalEntry.Finished}); null if there is none or it is not one this version reads.
     */
    public static JournalEntry lastEntry(Path runDir) {
        try (java.nio.channels.FileChannel file = java.nio.channels.FileChannel.open(runDir.resolve(FILE))) {
            long size = file.size();
            int length = (int) Math.min(size, 4096);
            java.nio.ByteBuffer tail = java.nio.ByteBuffer.allocate(length);
            file.read(tail, size - length);
            String text = new String(tail.array(), 0, tail.position(), StandardCharsets.UTF_8);
            int end = text.lastIndexOf('\n');
            if (end <= 0) {
                return null;
            }
            String line = text.substring(text.lastIndexOf('\n', end - 1) + 1, end);
            // the last entry is read without the journal's head: its text fields come back as written
            return line.isEmpty() ? null : new JournalEntry.Decoder().decode(line);
        } catch (NoSuchFileException | JournalEntry.Malformed e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
