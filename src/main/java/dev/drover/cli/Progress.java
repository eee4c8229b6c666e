package dev.drover.cli;

import dev.drover.run.Run;
import dev.drover.run.TaskState;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Shows a run's progress on stderr: a progress bar on a terminal, a plain line every ten seconds otherwise (logs,
 * CI), so that long runs show they are alive without flooding a log.
 */
final class Progress implements AutoCloseable {

    private static final long PLAIN_INTERVAL_MILLIS = 10_000;

    private final Thread thread;

    private Progress(Thread thread) {
        this.thread = thread;
    }

    static Progress start(Run run) {
        boolean terminal = System.console() != null;
        Thread thread = new Thread(() -> {
            try {
                if (terminal) {
                    bar(run);
                } else {
                    plain(run);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "drover-progress");
        thread.setDaemon(true);
        thread.start();
        return new Progress(thread);
    }

    private static void bar(Run run) throws InterruptedException {
        try (ProgressBar bar = new ProgressBarBuilder().setTaskName(run.plan().manifest().name())
                .setInitialMax(run.taskCount()).setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(200)
                .continuousUpdate().build()) {
            do {
                bar.stepTo(run.done());
                int failed = run.count(TaskState.FAILED);
                bar.setExtraMessage(failed > 0 ? failed + " failed" : "");
            } while (!finishedWithin(run, 200));
            bar.stepTo(run.done());
        }
    }

    private static void plain(Run run) throws InterruptedException {
        while (!finishedWithin(run, PLAIN_INTERVAL_MILLIS)) {
            System.err.printf("drover: %s %d/%d done, %d failed, %d running%n", run.id(), run.done(),
                    run.taskCount(), run.count(TaskState.FAILED), run.count(TaskState.RUNNING));
        }
    }

    private static boolean finishedWithin(Run run, long millis) throws InterruptedException {
        try {
            run.finished().get(millis, TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            return true;
        }
    }

    @Override
    public void close() throws InterruptedException {
        thread.join(1000);
    }
}
