package dev.drover.run;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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

    private final FileChannel channel;
    private volatile boolean dirty;

    private Journal(FileChannel channel) {
        this.channel = channel;
    }

    /** Opens (or creates) the journal in a run directory for appending, ending any line a crash cut short. */
    public static Journal open(Path runDir) {
        try {
            FileChannel channel = FileChannel.open(runDir.resolve(FILE), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, StandardOpenOption.READ);
            long size = channel.size();
            channel.position(size);
            if (size > 0) {
                ByteBuffer last = ByteBuffer.allocate(1);
                channel.read(last, size - 1);
                if (last.get(0) != '\n') {
                    channel.write(ByteBuffer.wrap(new byte[]{'\n'}));
                }
            }
            Journal journal = new Journal(channel);
            OPEN.add(journal);
            return journal;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the journal in " + runDir, e);
        }
    }

    public void append(String... fields) {
        StringBuilder line = new StringBuilder(64);
        for (int i = 0; i < fields.length; i++) {
            if (i > 0) {
                line.append('\t');
            }
            line.append(fields[i]);
        }
        line.append('\n');
        ByteBuffer bytes = ByteBuffer.wrap(line.toString().getBytes(StandardCharsets.UTF_8));
        try {
            synchronized (this) {
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
            }
            dirty = true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the journal", e);
        }
    }

    public void appendAndSync(String... fields) {
        append(fields);
        sync();
    }

    public void sync() {
        if (dirty) {
            dirty = false;
            try {
                channel.force(false);
            } catch (IOException e) {
                dirty = true;
                throw new UncheckedIOException("cannot sync the journal", e);
            }
        }
    }

    private void syncQuietly() {
        try {
            sync();
        } catch (UncheckedIOException ignored) {
            // retried on the next tick; a closed channel is removed by close()
        }
    }

    @Override
    public void close() {
        OPEN.remove(this);
        try {
            sync();
            channel.close();
        } catch (IOException | UncheckedIOException e) {
            // closing after a failed disk: the journal holds what it could
        }
    }

    /** The complete lines of a run's journal, each split into its fields; an unfinished last line is dropped. */
    public static List<String[]> read(Path runDir) {
        String text;
        try {
            text = Files.readString(runDir.resolve(FILE), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<String[]> lines = new ArrayList<>();
        int start = 0;
        for (int end = text.indexOf('\n'); end >= 0; start = end + 1, end = text.indexOf('\n', start)) {
            if (end > start) {
                lines.add(text.substring(start, end).split("\t", -1));
            }
        }
        return lines;
    }

    /** Journal fields must not contain the separators. */
    static String clean(String text) {
        return text == null ? "" : text.replaceAll("[\\t\\n\\r]", " ");
    }
}
