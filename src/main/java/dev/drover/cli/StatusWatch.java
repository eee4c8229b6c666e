package dev.drover.cli;

import dev.drover.report.Efficiency;
import dev.drover.run.RunState;
import dev.drover.serve.RunStatus;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * `drover status RUN_ID --watch`: one line of counts, rate and time left, rewritten in place on a terminal (a new
 * line whenever the counts change otherwise), read from the run directory until the run has ended. The rate is
 * over the last minute once there is one, else since the run was accepted.
 */
final class StatusWatch {

    private static final long WINDOW_NANOS = Duration.ofMinutes(1).toNanos();
    private static final long MIN_WINDOW_NANOS = Duration.ofSeconds(5).toNanos();

    private final Path runDir;
    private final long intervalNanos;
    private final boolean terminal;
    private final PrintStream out;
    /** (System.nanoTime(), tasks done) of recent reads. */
    private final Deque<long[]> samples = new ArrayDeque<>();

    StatusWatch(Path runDir, double intervalSeconds, boolean terminal, PrintStream out) {
        this.runDir = runDir;
        this.intervalNanos = Math.max(Duration.ofMillis(100).toNanos(), (long) (intervalSeconds * 1e9));
        this.terminal = terminal;
        this.out = out;
    }

    int follow() throws IOException {
        String lastCounts = null;
        while (true) {
            RunStatus run = RunStatus.read(runDir);
            Map<String, Integer> c = run.counts();
            int done = c.get("succeeded") + c.get("failed") + c.get("cancelled");
            String counts = String.format(Locale.ROOT, "%s %s %d/%d done: %d succeeded, %d failed, %d cancelled,"
                            + " %d running", run.runId(), run.finished() ? run.state() : "RUNNING", done, run.tasks(),
                    c.get("succeeded"), c.get("failed"), c.get("cancelled"), c.get("running"));
            String line = run.finished() ? counts : counts + progress(run, done);
            if (terminal) {
                out.print("\r\033[K" + line);
            } else if (!counts.equals(lastCounts)) {
                out.println(line);
            }
            out.flush();
            lastCounts = counts;
            if (run.finished()) {
                if (terminal) {
                    out.println();
                }
                return exitCode(run.state());
            }
            LockSupport.parkNanos(intervalNanos);
        }
    }

    /** "; 35.2 tasks/s, about 4m10s left", or less while the rate is not known yet. */
    private String progress(RunStatus run, int done) {
        long now = System.nanoTime();
        samples.addLast(new long[]{now, done});
        while (samples.size() > 2 && now - samples.peekFirst()[0] > WINDOW_NANOS) {
            samples.removeFirst();
        }
        double rate;
        long[] oldest = samples.peekFirst();
        if (now - oldest[0] >= MIN_WINDOW_NANOS) {
            rate = (done - oldest[1]) / ((now - oldest[0]) / 1e9);
        } else if (run.acceptedAt() != null) {
            double seconds = Duration.between(run.acceptedAt(), Instant.now()).toMillis() / 1000.0;
            rate = seconds > 0 ? done / seconds : 0;
        } else {
            return "";
        }
        int left = run.tasks() - done;
        String rateText = String.format(Locale.ROOT, "; %.1f tasks/s", rate);
        return rate > 0 ? rateText + ", about " + Efficiency.duration(left / rate) + " left" : rateText;
    }

    private static int exitCode(String state) {
        try {
            return Foreground.exitCode(RunState.valueOf(state));
        } catch (IllegalArgumentException unknown) {
            return 1;
        }
    }
}
