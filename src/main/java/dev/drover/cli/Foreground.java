package dev.drover.cli;

import dev.drover.report.Efficiency;
import dev.drover.run.Run;
import dev.drover.run.RunReport;
import dev.drover.run.RunState;
import dev.drover.run.TaskState;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * A run followed at the terminal (drover run, drover resume): progress while it goes, Ctrl-C/SIGTERM cancels it
 * and still writes the report, one summary line at the end, and the exit code by its outcome.
 */
final class Foreground {

    static final int CANCELLED = 130;
    /** 128 + SIGHUP: drover left its run to the cluster and ended; drover resume carries it on. */
    static final int HANGUP = 129;

    private Foreground() {
    }

    /**
     * @param record  records the run (before its tasks are fed): drover run's plan, or drover resume's run
     * @param feed    hands the run's tasks to the pipeline; completes when all are fed, or with why not
     * @param started System.nanoTime() when the command started, for the summary's duration
     */
    static int follow(Callable<Run> record, Function<Run, CompletableFuture<Run>> feed, long started)
            throws Exception {
        Summary summary = new Summary();
        Outcome outcome = followToTheEnd(record, feed, started, summary);
        // The advice reads tasks.jsonl back (about 40 bytes a task), as report.html does meanwhile: no frame holds
        // the run any more, so that a large run's per-task state can go first.
        if (outcome.summarised()) {
            summary.printAdvice(outcome.dir(), outcome.state());
        }
        return exitCode(outcome.state());
    }

    /** How a followed run ended, without the run; summarised: this thread printed its outcome (not the hook). */
    private record Outcome(Path dir, RunState state, boolean summarised) {
    }

    private static Outcome followToTheEnd(Callable<Run> record, Function<Run, CompletableFuture<Run>> feed,
                                          long started, Summary summary) throws Exception {
        // Registered before the run is recorded, so that no SIGTERM can fall between acceptance and the hook.
        CompletableFuture<Run> run = new CompletableFuture<>();
        AtomicBoolean stopping = new AtomicBoolean();
        Thread interrupt = new Thread(() -> {
            stopping.set(true); // a hangup now must not cut the cancel short
            Run interrupted;
            try {
                interrupted = run.get(5, TimeUnit.SECONDS);
            } catch (Exception notAccepted) {
                return; // nothing was recorded: nothing to cancel
            }
            interrupted.cancel();
            awaitQuietly(interrupted);
            summary.print(interrupted, started);
            // The JVM would exit 143 for SIGTERM; the report now says CANCELLED, so exit as interrupted.
            Runtime.getRuntime().halt(CANCELLED);
        }, "drover-interrupt");
        Runtime.getRuntime().addShutdownHook(interrupt);
        sun.misc.SignalHandler hangupBefore = leaveClusterJobsOnHangup(run, stopping);
        try {
            Run followed;
            try {
                followed = record.call();
            } catch (Exception refused) {
                run.completeExceptionally(refused);
                throw refused;
            }
            run.complete(followed);
            CompletableFuture<Run> fed = feed.apply(followed);
            try (Progress progress = Progress.start(followed)) {
                CompletableFuture.anyOf(followed.finished(), fed.exceptionally(e -> null)).get();
                if (fed.isCompletedExceptionally()) {
                    followed.cancel(); // the pipeline broke while feeding tasks: stop what runs, keep the record
                    fed.get();
                }
                followed.finished().get();
            }
            boolean summarised = summary.printOutcome(followed, started);
            return new Outcome(followed.dir(), followed.finished().get(), summarised);
        } finally {
            if (hangupBefore != null) {
                sun.misc.Signal.handle(new sun.misc.Signal("HUP"), hangupBefore);
            }
            try {
                Runtime.getRuntime().removeShutdownHook(interrupt);
            } catch (IllegalStateException shuttingDown) {
                // SIGTERM arrived as the run ended: the hook is running already
            }
        }
    }

    /**
     * A closed terminal or a dropped SSH session (SIGHUP) ends drover, but a cluster keeps running what it was
     * given: the run's SLURM arrays and Kubernetes Jobs are left alone, and {@code drover resume} follows them again.
     * A local run is cancelled, as for SIGTERM: its tasks are this process's children.
     */
    private static sun.misc.SignalHandler leaveClusterJobsOnHangup(CompletableFuture<Run> run, AtomicBoolean stopping) {
        try {
            return sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> {
                if (stopping.get()) {
                    return; // already cancelling (SIGTERM, Ctrl-C): let that finish and write the report
                }
                Run hungUp = run.getNow(null);
                if (hungUp != null && hungUp.plan().strategy().isCluster() && !hungUp.finished().isDone()) {
                    System.err.printf("drover: hangup; run %s goes on on the cluster: drover resume %s%n",
                            hungUp.id(), hungUp.id());
                    // The journal is written through to the file system: nothing is lost by not stopping cleanly.
                    Runtime.getRuntime().halt(HANGUP);
                }
                System.exit(HANGUP); // the interrupt hook cancels the run
            });
        } catch (IllegalArgumentException noHangup) {
            return null; // no SIGHUP on this platform, or the JVM runs with -Xrs
        }
    }

    private static void awaitQuietly(Run run) {
        try {
            run.finished().get(30, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // the summary says what is known
        }
    }

    static int exitCode(RunState state) {
        return switch (state) {
            case SUCCEEDED -> 0;
            case CANCELLED -> CANCELLED;
            default -> 1;
        };
    }

    /** The one summary line, printed once, by the main thread or by the interrupt hook, whichever comes first. */
    private static final class Summary {
        private final AtomicBoolean claimed = new AtomicBoolean();
        private final java.util.concurrent.CountDownLatch printed = new java.util.concurrent.CountDownLatch(1);

        /** The whole summary: the interrupt hook's. */
        void print(Run run, long startedNanos) {
            if (printOutcome(run, startedNanos)) {
                printAdvice(run.dir(), run.finished().getNow(RunState.RUNNING));
            }
        }

        /** The advice line, by the thread that printed the outcome, once the run has ended. */
        void printAdvice(Path runDir, RunState state) {
            try {
                String advice = state == RunState.RUNNING ? null : Efficiency.adviceFor(runDir);
                if (advice != null) {
                    System.out.println("advice: " + advice);
                }
                System.out.flush();
            } finally {
                printed.countDown();
            }
        }

        /**
         * The outcome line and the first failed tasks, unless the other thread prints them.
         *
         * @return whether this thread printed them (and then prints the advice)
         */
        boolean printOutcome(Run run, long startedNanos) {
            if (!claimed.compareAndSet(false, true)) {
                try {
                    printed.await(2, TimeUnit.SECONDS); // the other thread is printing it: let it finish
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return false;
            }
            try {
                RunState state = run.finished().getNow(RunState.RUNNING);
                double seconds = (System.nanoTime() - startedNanos) / 1e9;
                Path report = Path.of("").toAbsolutePath().relativize(run.dir().resolve(RunReport.FILE).toAbsolutePath());
                System.out.printf("run %s %s: %d succeeded, %d failed, %d cancelled%s in %.1fs; report %s%n", run.id(),
                        state, run.count(TaskState.SUCCEEDED), run.count(TaskState.FAILED),
                        run.count(TaskState.CANCELLED), run.escalations().describe(),
                        seconds, report);
                FailedTasks.print(run, System.out);
                return true;
            } catch (RuntimeException e) {
                printed.countDown();
                throw e;
            }
        }
    }
}
