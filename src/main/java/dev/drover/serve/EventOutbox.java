package dev.drover.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The run events' durable outbox (the guarantee is described in {@link RunEvents}): one file per run,
 * {@code <runs-dir>/.events/RUN_ID.jsonl}, one event per line exactly as it is sent, appended before it is sent;
 * {@code RUN_ID.sent} holds the sequence number of the last event the broker accepted. A run's files are deleted
 * once its run-finished and everything before it were accepted, so the folder holds only runs with events owed.
 * Once everything written so far has been sent, a file over {@value #COMPACT_BYTES} bytes is emptied (its numbering
 * goes on), so a long run's outbox stays small while the broker keeps up.
 * <p>
 * A run's file is locked while this process writes it: another drover on the same runs directory leaves it alone.
 */
final class EventOutbox {

    private static final Logger LOG = LoggerFactory.getLogger(EventOutbox.class);
    static final String DIR = ".events";
    static final long COMPACT_BYTES = 1 << 20;
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** Threads that force a batch's files side by side; null: one after the other, in the caller. */
    static final int FORCERS = 4;

    private final Path dir;
    private final java.util.concurrent.ExecutorService forcers;

    EventOutbox(Path runsDir) {
        this(runsDir, null);
    }

    EventOutbox(Path runsDir, java.util.concurrent.ExecutorService forcers) {
        this.dir = runsDir.resolve(DIR);
        this.forcers = forcers;
    }

    /**
     * Forces the appended events of several runs to disk, each file by a thread of its own when there are more than
     * one: the file system commits syncs that wait at the same time together, so a batch of runs costs about one
     * sync instead of one per run (measured here, 64 outbox files on 2 busy cores: 280-390 ms one after the other,
     * 20-25 ms four at a time). Returns once every one is on disk (or failed, which is logged).
     */
    void force(java.util.Collection<Box> boxes) {
        List<java.util.concurrent.Future<?>> pending = new ArrayList<>();
        for (Box box : boxes) {
            if (forcers == null || boxes.size() == 1) {
                box.force();
                continue;
            }
            try {
                pending.add(forcers.submit(box::force));
            } catch (java.util.concurrent.RejectedExecutionException stopping) {
                box.force(); // drover is stopping: what it still writes is forced here
            }
        }
        boolean interrupted = false;
        for (java.util.concurrent.Future<?> forced : pending) {
            while (true) {
                try {
                    forced.get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // the events are not handed on before they are on disk
                } catch (java.util.concurrent.ExecutionException e) {
                    LOG.warn("cannot force the event outbox to disk: {}", e.getCause().toString());
                    break;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** An event as written: the sender sends {@code json} as the body. */
    record Event(Box box, long seq, String type, String json, boolean droppable) {
        String runId() {
            return box.runId;
        }

        String eventId() {
            return box.runId + "/" + seq;
        }
    }

    /** One run's outbox file. Its methods are called by RunEvents' writer (append) and sender (sent). */
    static final class Box {
        final String runId;
        private final Path file;
        private final Path sentFile;
        private FileChannel channel;
        private FileLock lock;
        private long written;
        private long sent;
        private boolean finished;
        private boolean deleted;
        /** The file was emptied (here or before a restart): RUN_ID.sent alone says where the numbering goes on. */
        private boolean compacted;
        /** Task events of this run dropped by this process (see RunEvents); told in run-progress and run-finished. */
        long dropped;

        private Box(Path dir, String runId) {
            this.runId = runId;
            this.file = dir.resolve(runId + ".jsonl");
            this.sentFile = dir.resolve(runId + ".sent");
        }

        synchronized boolean finishedWritten() {
            return finished;
        }

        synchronized boolean deleted() {
            return deleted;
        }

        /** The next sequence number, 1 for a new run. */
        synchronized long nextSeq() {
            return written + 1;
        }

        /** Appends one event (its seq must be {@link #nextSeq}); forced to disk by {@link #force}. */
        synchronized Event append(String type, String json, boolean droppable) {
            if (deleted || channel == null) {
                throw new IllegalStateException("the outbox of run " + runId + " is closed");
            }
            try {
                byte[] line = (json + "\n").getBytes(StandardCharsets.UTF_8);
                ByteBuffer buffer = ByteBuffer.wrap(line);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the event outbox " + file, e);
            }
            written++;
            if ("run-finished".equals(type)) {
                finished = true;
            }
            return new Event(this, written, type, json, droppable);
        }

        /** After run-finished is on disk nothing more is appended: the file is let go (one descriptor less). */
        synchronized void releaseIfFinished() {
            if (finished) {
                try {
                    close();
                } catch (IOException e) {
                    LOG.warn("cannot close the event outbox {}: {}", file, e.toString());
                }
            }
        }

        synchronized void force() {
            try {
                if (channel != null && channel.isOpen()) {
                    channel.force(false);
                }
            } catch (IOException e) {
                LOG.warn("cannot force the event outbox {} to disk: {}", file, e.toString());
            }
        }

        /**
         * The broker accepted every event up to {@code seq}: recorded in RUN_ID.sent, and the files deleted when the
         * run is finished and nothing is owed. Returns true when the run's outbox is done with.
         */
        synchronized boolean sent(long seq) {
            sent = Math.max(sent, seq);
            try {
                if (finished && sent >= written) {
                    close();
                    Files.deleteIfExists(file);
                    Files.deleteIfExists(sentFile);
                    deleted = true;
                    return true;
                }
                boolean compact = sent >= written && channel != null && channel.size() > COMPACT_BYTES;
                writeSent(compact || compacted);
                if (compact) {
                    channel.truncate(0); // RUN_ID.sent, on disk first, tells where the numbering goes on
                    compacted = true;
                }
            } catch (IOException e) {
                LOG.warn("cannot record the events sent in {}: {}", sentFile, e.toString());
            }
            return false;
        }

        /**
         * RUN_ID.sent replaced whole. Forced to disk once the outbox may be or was emptied: after a crash it must still
         * say where the numbering goes on, or event ids would be given again to other events. Before that, a copy a
         * crash of the machine lost only makes the file's events be sent again, with their ids (duplicates are
         * allowed): no sync per run for it (one-task runs from a queue paid one in five of their syncs here).
         */
        private void writeSent(boolean durable) throws IOException {
            Path temp = sentFile.resolveSibling(sentFile.getFileName() + ".tmp");
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                out.write(ByteBuffer.wrap(Long.toString(sent).getBytes(StandardCharsets.US_ASCII)));
                if (durable) {
                    out.force(false);
                }
            }
            Files.move(temp, sentFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }

        private void close() throws IOException {
            if (channel != null) {
                channel.close(); // releases the lock
                channel = null;
                lock = null;
            }
        }
    }

    /** A new run's outbox: an empty file. */
    Box create(String runId) {
        try {
            Files.createDirectories(dir);
            Box box = new Box(dir, runId);
            open(box);
            return box;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the event outbox in " + dir, e);
        }
    }

    private static void open(Box box) throws IOException {
        box.channel = FileChannel.open(box.file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        box.lock = box.channel.tryLock();
        if (box.lock == null) {
            box.channel.close();
            box.channel = null;
            throw new IOException(box.file + " is being written by another drover process");
        }
    }

    /**
     * The outboxes a previous drover left with events owed, each with its unsent events in order; those another
     * live drover is writing are left to it. A line a crash cut short is removed.
     */
    Map<Box, List<Event>> load(java.util.function.Predicate<String> droppable) {
        Map<Box, List<Event>> owed = new java.util.LinkedHashMap<>();
        if (!Files.isDirectory(dir)) {
            return owed;
        }
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(f -> f.getFileName().toString().endsWith(".jsonl")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the event outbox " + dir, e);
        }
        for (Path file : files) {
            String name = file.getFileName().toString();
            Box box = new Box(dir, name.substring(0, name.length() - ".jsonl".length()));
            try {
                open(box);
                owed.put(box, read(box, droppable));
            } catch (IOException | RuntimeException e) {
                LOG.warn("event outbox {} left alone: {}", file, e.getMessage());
            }
        }
        return owed;
    }

    private static List<Event> read(Box box, java.util.function.Predicate<String> droppable) throws IOException {
        if (Files.isRegularFile(box.sentFile)) {
            box.compacted = true; // it may have been: the file's numbering cannot tell
            try {
                box.sent = Long.parseLong(Files.readString(box.sentFile).trim());
            } catch (NumberFormatException cut) {
                box.sent = 0; // a crash while it was rewritten: every event in the file is sent again (duplicates)
            }
        }
        box.written = box.sent;
        byte[] bytes = Files.readAllBytes(box.file);
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') {
            end--; // a line without its newline: cut short by a crash, never sent
        }
        if (end < bytes.length) {
            box.channel.truncate(end);
        }
        List<Event> unsent = new ArrayList<>();
        for (String line : new String(bytes, 0, end, StandardCharsets.UTF_8).split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            JsonNode event;
            try {
                event = JSON.readTree(line);
            } catch (IOException unreadable) {
                LOG.warn("event outbox {}: skipping an unreadable line", box.file);
                continue;
            }
            long seq = event.path("seq").asLong();
            String type = event.path("event").asText();
            box.written = Math.max(box.written, seq);
            box.finished |= "run-finished".equals(type);
            if (seq > box.sent) {
                unsent.add(new Event(box, seq, type, line, droppable.test(type)));
            }
        }
        return unsent;
    }
}
