package dev.drover.local;

import dev.drover.manifest.TaskSpec;
import dev.drover.run.Run;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where a local run's task output goes, so that files grow with slots, not tasks: a task runs with its output in
 * the file of a slot (logs/running/N.log, N below --jobs; logs/running/N.task names the task in it), reused from
 * task to task. When the task ends, output it printed becomes logs/ID.log (renamed, or appended to a log its earlier
 * attempts left); a task that printed nothing leaves no file. The slot files go when the run ends. While a task
 * runs, its output so far is its slot's ({@link #find}). Slot files a crashed drover left are given to their tasks
 * before the run goes on, so that an interrupted attempt's output is kept as before a retry.
 */
public final class TaskLogs {

    private static final String TASK = ".task";
    private static final String LOG = ".log";

    private final Path logs;
    private final Path running;
    private final ConcurrentLinkedDeque<Slot> free = new ConcurrentLinkedDeque<>();
    private final AtomicInteger made = new AtomicInteger();

    /** The slot files of one task while it runs. */
    final class Slot {
        private final Path log;
        private final Path task;
        /** The log is there and empty (its last task printed nothing): it need not be emptied again. */
        private boolean logEmpty;

        private Slot(int number) {
            this.log = running.resolve(number + LOG);
            this.task = running.resolve(number + TASK);
        }

        /** The file the task's process writes to. */
        File log() {
            return log.toFile();
        }

        /** Gives what the slot's task printed to the task's own log and frees the slot for the next task. */
        void release(TaskSpec spec) {
            try {
                logEmpty = keep(log, logs.resolve(logName(spec)));
            } finally {
                free.push(this);
            }
        }

        /**
         * Names the slot's task: overwritten and cut to length, never truncated to zero first (ext4 flushes a file
         * rewritten that way when it is closed, auto_da_alloc, which cost 2.5 ms a task); the log emptied unless
         * it is known to be.
         */
        private void prepare(TaskSpec spec) throws IOException {
            byte[] name = (spec.id() + "\n").getBytes(StandardCharsets.UTF_8);
            try (FileChannel file = FileChannel.open(task, StandardOpenOption.WRITE, StandardOpenOption.CREATE)) {
                file.write(ByteBuffer.wrap(name), 0);
                file.truncate(name.length);
            }
            if (!logEmpty) {
                Files.newOutputStream(log).close(); // the previous task's output, if any, has been moved away
            }
            logEmpty = false;
        }
    }

    TaskLogs(Run run) {
        this.logs = run.dir().resolve("logs");
        this.running = logs.resolve(Run.RUNNING_LOGS);
        try {
            Files.createDirectories(running);
            try (DirectoryStream<Path> left = Files.newDirectoryStream(running, "*" + TASK)) {
                for (Path task : left) {
                    String name = task.getFileName().toString();
                    Path log = running.resolve(name.substring(0, name.length() - TASK.length()) + LOG);
                    String id = Files.readString(task, StandardCharsets.UTF_8).strip();
                    if (Files.exists(log) && !id.isEmpty()) {
                        keep(log, logs.resolve(id + LOG));
                    }
                    Files.deleteIfExists(task); // names a task no longer in it
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + running, e);
        }
    }

    /** A free slot, named for {@code task} (for {@link #find}) and emptied of the previous task's output. */
    Slot acquire(TaskSpec task) {
        Slot slot = free.poll();
        if (slot == null) {
            slot = new Slot(made.getAndIncrement());
        }
        try {
            slot.prepare(task);
        } catch (IOException e) {
            free.push(slot);
            throw new UncheckedIOException("cannot prepare the log of task " + task.id(), e);
        }
        return slot;
    }

    /** The run has ended: its slots have been released, their files are left empty. */
    void close() {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(running)) {
            for (Path file : files) {
                Files.deleteIfExists(file);
            }
            Files.deleteIfExists(running);
        } catch (IOException e) {
            // an empty slot file left behind holds nothing
        }
    }

    private static String logName(TaskSpec task) {
        return Path.of(Run.logPath(task)).getFileName().toString();
    }

    /**
     * Moves a non-empty slot file's content to the task's log (appending to one that exists) and removes it.
     *
     * @return whether the slot file is there and empty (nothing to keep)
     */
    private static boolean keep(Path slotLog, Path taskLog) {
        try {
            if (Files.size(slotLog) == 0) {
                return true;
            }
            if (!Files.exists(taskLog)) {
                Files.move(slotLog, taskLog, StandardCopyOption.ATOMIC_MOVE);
                return false;
            }
            try (InputStream in = Files.newInputStream(slotLog);
                 OutputStream out = Files.newOutputStream(taskLog, StandardOpenOption.APPEND)) {
                in.transferTo(out);
            }
            Files.delete(slotLog); // not emptied in place: see Slot.prepare
            return false;
        } catch (NoSuchFileException gone) {
            return false; // nothing to keep
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the output in " + slotLog + " as " + taskLog, e);
        }
    }

    /**
     * The log of a local task in {@code runDir}: logs/ID.log once it has ended having printed something, its slot's
     * file while it runs, else null. A slot read while its task ends may already hold the next task: the caller
     * checks {@link #stillRuns} after reading it.
     */
    public static Path find(Path runDir, String taskId) throws IOException {
        Path logs = runDir.resolve("logs");
        Path ended = logs.resolve(taskId + LOG);
        if (Files.isRegularFile(ended)) {
            return ended;
        }
        Path running = logs.resolve(Run.RUNNING_LOGS);
        if (!Files.isDirectory(running)) {
            return null;
        }
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(running, "*" + TASK)) {
            for (Path task : tasks) {
                if (names(task, taskId)) {
                    String name = task.getFileName().toString();
                    return running.resolve(name.substring(0, name.length() - TASK.length()) + LOG);
                }
            }
        }
        return Files.isRegularFile(ended) ? ended : null; // it may have ended meanwhile
    }

    /** Whether a slot log {@link #find} returned still belongs to {@code taskId}. */
    public static boolean stillRuns(Path slotLog, String taskId) {
        if (!slotLog.getParent().getFileName().toString().equals(Run.RUNNING_LOGS)) {
            return true; // an ended task's own log
        }
        String name = slotLog.getFileName().toString();
        return names(slotLog.resolveSibling(name.substring(0, name.length() - LOG.length()) + TASK), taskId);
    }

    private static boolean names(Path slotTask, String taskId) {
        try {
            return Files.readString(slotTask, StandardCharsets.UTF_8).strip().equals(taskId);
        } catch (IOException e) {
            return false;
        }
    }
}
