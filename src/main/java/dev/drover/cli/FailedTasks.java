package dev.drover.cli;

import dev.drover.manifest.TaskSpec;
import dev.drover.run.Run;
import dev.drover.run.TaskState;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Under the summary of a run with failures: the first few failed tasks, each with its log's last line and path. */
final class FailedTasks {

    static final int SHOWN = 3;
    /** Enough of a log's end to hold its last line; a longer line is shown cut. */
    private static final int TAIL_BYTES = 4096;
    private static final int LINE_CHARS = 160;

    private FailedTasks() {
    }

    static void print(Run run, PrintStream out) {
        int failed = run.count(TaskState.FAILED);
        int shown = 0;
        Path here = Path.of("").toAbsolutePath();
        for (int i = 0; i < run.taskCount() && shown < SHOWN && shown < failed; i++) {
            if (run.taskState(i) == TaskState.FAILED) {
                TaskSpec task = run.plan().manifest().tasks().task(i);
                Path log = run.dir().resolve(Run.logPath(task)).toAbsolutePath();
                out.printf("  failed %s: %s (log %s)%n", task.id(), lastLine(log), here.relativize(log));
                shown++;
            }
        }
        if (failed > shown) {
            out.printf("  and %d more: drover logs %s --failed%n", failed - shown, run.id());
        }
    }

    static boolean endsWithNewline(Path log) throws IOException {
        try (FileChannel file = FileChannel.open(log)) {
            ByteBuffer last = ByteBuffer.allocate(1);
            return file.size() == 0 || file.read(last, file.size() - 1) == 1 && last.get(0) == '\n';
        }
    }

    /** The last non-blank line of a log, without control characters (a task's output must not steer the terminal). */
    static String lastLine(Path log) {
        try (FileChannel file = FileChannel.open(log)) {
            long size = file.size();
            ByteBuffer tail = ByteBuffer.allocate((int) Math.min(size, TAIL_BYTES));
            file.read(tail, size - tail.capacity());
            String text = new String(tail.array(), 0, tail.position(), StandardCharsets.UTF_8).stripTrailing();
            String line = text.substring(text.lastIndexOf('\n') + 1).replaceAll("\\p{Cntrl}", " ").strip();
            if (line.isEmpty()) {
                return "no output";
            }
            return line.length() > LINE_CHARS ? line.substring(0, LINE_CHARS) + "..." : line;
        } catch (java.nio.file.NoSuchFileException e) {
            return "no output"; // a local task that printed nothing has no log file
        } catch (IOException e) {
            return "no log";
        }
    }
}
