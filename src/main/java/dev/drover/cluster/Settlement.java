package dev.drover.cluster;

import dev.drover.run.Run;
import dev.drover.run.TaskState;

import java.util.Locale;

/**
 * How an attempt that ran on a cluster ends, for every backend: succeeded, cancelled with its run, run again while
 * the manifest's retries last, or failed. The outcome carries why it ended ({@link Cause}), so that retries that
 * depend on the reason (more memory after an OOM, no retry used up by a node failure) are decided here, once.
 */
public final class Settlement {

    /** Why an attempt ended, as far as the scheduler says. */
    public enum Cause {
        /** The task's own exit code (or SLURM/Kubernetes gave no better reason). */
        EXIT,
        /** A time limit: the manifest's per-task timeout, SLURM TIMEOUT/DEADLINE, activeDeadlineSeconds. */
        TIMEOUT,
        /** SLURM OUT_OF_MEMORY, Kubernetes OOMKilled. */
        OUT_OF_MEMORY,
        /** The node went away: SLURM NODE_FAIL/BOOT_FAIL. */
        NODE_FAIL,
        /** Preempted by the scheduler. */
        PREEMPTED,
        /** Cancelled by someone (scancel, the run's cancel). */
        CANCELLED,
        /** Neither an exit code nor the scheduler tells what happened. */
        UNKNOWN;

        /** The cause a scheduler's final state names (SLURM states, Kubernetes termination reasons). */
        public static Cause of(String backendState) {
            String state = backendState == null ? "" : backendState.toUpperCase(Locale.ROOT);
            return switch (state) {
                case "TIMEOUT", "DEADLINE", "DEADLINEEXCEEDED" -> TIMEOUT;
                case "OUT_OF_MEMORY", "OOMKILLED" -> OUT_OF_MEMORY;
                case "NODE_FAIL", "BOOT_FAIL" -> NODE_FAIL;
                case "PREEMPTED" -> PREEMPTED;
                case "CANCELLED" -> CANCELLED;
                case "UNKNOWN" -> UNKNOWN;
                default -> EXIT;
            };
        }
    }

    /**
     * One attempt's end.
     *
     * @param reason why it failed in words (the report's reason), or null when the exit code says it all
     */
    public record Outcome(int exitCode, String backendState, String reason, Cause cause) {
        public boolean succeeded() {
            return exitCode == 0 && reason == null;
        }
    }

    private Settlement() {
    }

    /**
     * Records the end of {@code attempt} of a task; true when the task is to run again (its failed attempt is in the
     * journal and the caller submits the next one). Retries used across restarts decide, not the attempt number: a
     * task requeued after a crash starts again at a new attempt without having had its retries back.
     */
    public static boolean settleOrRetry(Run run, int task, int attempt, Outcome outcome) {
        run.taskBackend(task, null, outcome.backendState());
        if (outcome.succeeded()) {
            run.taskFinished(task, attempt, TaskState.SUCCEEDED, 0, null);
            return false;
        }
        if (run.isCancelled()) {
            run.taskFinished(task, attempt, TaskState.CANCELLED, outcome.exitCode(), "run cancelled");
            return false;
        }
        String why = outcome.reason() != null ? outcome.reason() : "exit code " + outcome.exitCode();
        if (run.retriesUsed(task) < run.plan().manifest().retries()) {
            run.attemptFailed(task, attempt, outcome.exitCode(), why);
            return true;
        }
        run.taskFinished(task, attempt, TaskState.FAILED, outcome.exitCode(), outcome.reason());
        return false;
    }
}
