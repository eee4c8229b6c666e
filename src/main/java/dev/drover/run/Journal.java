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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The run's append-only journal of state changes: one tab-separated line per event. Each line is written to the
 * file at once (so a killed drover loses nothing it had recorded) and forced to disk within {@link #SYNC_MILLIS},
 * or at once for {@link #appendAndSync} (run acceptance). A line cut short by a crash has no newline and is
 * ignored on reading.
 */
public final class Journal implements Closeable {

    public static final String FILE = "journal.log";
    static final long SYNC_MILLIS = 200;

    private static final Set<Journal> OPEN = ConcurrentHashMap.newKeySet();
    private static final ScheduledExecutorService SYNCER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "drover-journal-sync");
        t.setDaemon(true);
        return t;
    });

    static {
        SYNCER.scheduleWithFixedDelay(() -> OPEN.forEach(Journal::syncQuietly), SYNC_MILLIS, SYNC_MILLIS,
                TimeUnit.MILLISECONDS);
    }

    private final Path file;
    private final FileOutputStream out;
    private final FileLock ownership;
    private volatile boolean dirty;
    private volatile boolean closed;

    private Journal(Path file, FileOutputStream out, FileLock ownership) {
        this.file = file;
        this.out = out;
        this.ownership = ownership;
    }

    /** Another live drover process holds the run: its journal is locked. */
    public static final class OwnedElsewhere extends RuntimeException {
        OwnedElsewhere(Path runDir) {
            super(runDir + " belongs to another running drover process");
        }
    }

    /**
     * Opens (or creates) the journal in a run directory for appending, removing any line a crash cut short, and takes
     * an exclusive lock on it for as long as it is open: no second drover process can take over a live run.
     * Writes go through a stream, not an interruptible channel, so that an interrupted lane thread cannot close it.
     *
     * @throws OwnedElsewhere when another process has it open
     */
    public static Journal open(Path runDir) {
        Journal journal = openUnended(runDir);
        journal.endLineCutShort();
        return journal;
    }

    /**
     * As {@link #open}, but a line a crash cut short stays unended until {@link #endLineCutShort}: Recovery reads the
     * journal between the two, so that the cut line is not taken for a complete one.
     */
    static Journal openUnended(Path runDir) {
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
            Journal journal = new Journal(file, out, lock);
            OPEN.add(journal);
            return journal;
        } catch (IOException e) {
            closeQuietly(out);
            throw new UncheckedIOException("cannot open the journal in " + runDir, e);
        }
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

    /** Appends one line; after {@link #close} (the run has finished) nothing more is recorded. */
    public void append(String... fields) {
        StringBuilder line = new StringBuilder(64);
        for (int i = 0; i < fields.length; i++) {
            if (i > 0) {
                line.append('\t');
            }
            line.append(fields[i]);
        }
        line.append('\n');
        byte[] bytes = line.toString().getBytes(StandardCharsets.UTF_8);
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

    public void appendAndSync(String... fields) {
        append(fields);
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

    private void syncQuietly() {
        try {
            sync();
        } catch (UncheckedIOException ignored) {
            // retried on the next tick
        }
    }

    @Override
    public void close() {
        OPEN.remove(this);
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

    /** The complete lines of a run's journal, each split into its fields; an unfinished last line is dropped. */
    public static List<String[]> read(Path runDir) {
        List<String[]> lines = new ArrayList<>();
        forEachLine(runDir, lines::add);
        return lines;
    }

    /**
     * Hands each complete line of a run's journal, split into its fields, to {@code each} as it is read: a restart
     * replays a million-task journal (70 MB) without holding it in memory. An unfinished last line is dropped.
     */
    public static void forEachLine(Path runDir, java.util.function.Consumer<String[]> each) {
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
                            each.accept(line.toString().split("\t", -1));
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

    /** The journal's last complete line, read from the end of the file (a finished run's ends with "finished"). */
    public static String[] lastLine(Path runDir) {
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
            return line.isEmpty() ? null : line.split("\t", -1);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Journal fields must not contain the separators. */
    static String clean(String text) {
        return text == null ? "" : text.replaceAll("[\\t\\n\\r]", " ");
    }
}
