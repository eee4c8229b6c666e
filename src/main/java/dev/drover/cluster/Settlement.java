package dev.drover.cluster;

import dev.drover.manifest.Escalate;
import dev.drover.manifest.ResourceAmounts;
import dev.drover.manifest.JobResources;
import dev.drover.run.Run;
import dev.drover.run.TaskState;
import dev.drover.run.TimedOut;

import java.util.Locale;

/**
 * How an attempt that ran on a cluster ends, for every backend, decided once here from why it ended ({@link Cause}):
 * succeeded; cancelled with its run; out of memory or out of its cluster time limit: run again with more (the
 * manifest's {@code escalate}), spending a retry; its node failed or it was preempted: run again without spending a
 * retry, up to {@code drover.cluster.node-failure-reruns} times, away from that node; anything else: run again
 * while the manifest's retries last, else failed.
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
        /** The node went away: SLURM NODE_FAIL/BOOT_FAIL, a Kubernetes pod lost with its node. */
        NODE_FAIL,
        /** Preempted by the scheduler (SLURM PREEMPTED, a Kubernetes disruption or eviction). */
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
                case "NODE_FAIL", "BOOT_FAIL", "NODELOST" -> NODE_FAIL;
                case "PREEMPTED", "DISRUPTIONTARGET", "EVICTED" -> PREEMPTED;
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
     * @param node   where it ran, if the scheduler said (avoided by a rerun after a node failure)
     */
    public record Outcome(int exitCode, String backendState, String reason, Cause cause, String node) {
        public Outcome(int exitCode, String backendState, String reason, Cause cause) {
            this(exitCode, backendState, reason, cause, null);
        }

        public boolean succeeded() {
            return exitCode == 0 && reason == null;
        }

        String why() {
            return reason != null ? reason : "exit code " + exitCode;
        }
    }

    /** What follows an ended attempt. */
    public enum Kind { SUCCEED, CANCEL, RETRY, ESCALATE, RERUN, FAIL }

    /**
     * @param reason    the ended attempt's reason (for FAIL: the task's)
     * @param resources for ESCALATE: the task's own resources from its next attempt on (over the run's)
     */
    public record Decision(Kind kind, String reason, JobResources resources) {
        static Decision of(Kind kind, String reason) {
            return new Decision(kind, reason, null);
        }
    }

    /** What a task has had so far, as its run's journal says. */
    public record Task(JobResources resources, int retriesUsed, int retries, int reruns) {
    }

    private final int rerunBound;

    /** @param rerunBound free reruns a task may have after node failures and preemptions (a setting) */
    public Settlement(int rerunBound) {
        this.rerunBound = rerunBound;
    }

    /** The decision for an ended attempt: pure, so each rule is tested without a cluster. */
    public Decision decide(Outcome outcome, boolean cancelled, Task task, Escalate escalate) {
        if (outcome.succeeded()) {
            return Decision.of(Kind.SUCCEED, null);
        }
        if (cancelled) {
            return Decision.of(Kind.CANCEL, "run cancelled");
        }
        Cause scheduler = Cause.of(outcome.backendState());
        if ((scheduler == Cause.NODE_FAIL || scheduler == Cause.PREEMPTED) && task.reruns() < rerunBound) {
            return Decision.of(Kind.RERUN, outcome.why());
        }
        String why = outcome.why();
        if (scheduler == Cause.NODE_FAIL || scheduler == Cause.PREEMPTED) {
            why += " (" + task.reruns() + " reruns after node failures or preemption already, the most"
                    + " drover.cluster.node-failure-reruns allows)";
        }
        boolean retryLeft = task.retriesUsed() < task.retries();
        // a deadline that was the manifest's own timeout (exit 124, as on every strategy) is not the cluster's limit
        boolean ownTimeout = outcome.exitCode() == TimedOut.EXIT_CODE && outcome.cause() == Cause.TIMEOUT;
        if (scheduler == Cause.OUT_OF_MEMORY || (scheduler == Cause.TIMEOUT && !ownTimeout)) {
            boolean memory = scheduler == Cause.OUT_OF_MEMORY;
            String key = memory ? "mem" : "time";
            String current = task.resources().get(key);
            long amount = current == null ? -1
                    : memory ? ResourceAmounts.megabytes(current) : ResourceAmounts.minutes(current);
            double factor = memory ? escalate.mem() : escalate.time();
            long cap = memory ? escalate.maxMemMb() : escalate.maxMinutes();
            if (current == null && factor > 1) {
                // the cluster's default applied (SLURM's DefMemPerCPU or the whole node): nothing drover can multiply
                why += ": no " + key + " was asked for, so escalate cannot grow it; give jobResources " + key
                        + " (the run's or this task's) to have it grown after " + (memory ? "an out-of-memory end"
                        : "a time limit");
            }
            if (amount > 0 && factor > 1) {
                long grown = (long) Math.ceil(amount * factor);
                long next = cap > 0 ? Math.min(grown, cap) : grown;
                if (next <= amount) {
                    return Decision.of(Kind.FAIL, why + ": " + key + "=" + current + " is already at escalate."
                            + (memory ? "maxMem" : "maxTime") + ", so it is not run again");
                }
                if (retryLeft) {
                    String value = memory ? ResourceAmounts.size(next) : ResourceAmounts.time(next);
                    return new Decision(Kind.ESCALATE, why, JobResources.parse(key + "=" + value));
                }
            }
        }
        return Decision.of(retryLeft ? Kind.RETRY : Kind.FAIL, why);
    }

    /**
     * Journals the end of {@code attempt} of a task as decided; true when the task is to run again (the caller
     * submits its next attempt through the lane). Retries used across restarts count, not the attempt number.
     */
    public boolean settle(Run run, int task, int attempt, Outcome outcome) {
        run.taskBackend(task, null, outcome.backendState(), outcome.node());
        Decision decision = decide(outcome, run.isCancelled(), new Task(run.taskResources(task),
                run.retriesUsed(task), run.plan().manifest().retries(), run.reruns(task)),
                run.plan().manifest().escalate());
        switch (decision.kind()) {
            case SUCCEED -> run.taskFinished(task, attempt, TaskState.SUCCEEDED, 0, null);
            case CANCEL -> run.taskFinished(task, attempt, TaskState.CANCELLED, outcome.exitCode(), decision.reason());
            case RETRY -> run.attemptFailed(task, attempt, outcome.exitCode(), decision.reason());
            case ESCALATE -> run.attemptEscalated(task, attempt, outcome.exitCode(), decision.reason(),
                    decision.resources());
            case RERUN -> run.attemptRerun(task, attempt, outcome.exitCode(), decision.reason(), outcome.node());
            case FAIL -> run.taskFinished(task, attempt, TaskState.FAILED, outcome.exitCode(),
                    outcome.succeeded() ? null : failReason(outcome, decision));
        }
        return decision.kind() == Kind.RETRY || decision.kind() == Kind.ESCALATE || decision.kind() == Kind.RERUN;
    }

    /** The report's reason of a failed task: the attempt's own (null when its exit code says it all), or why not again. */
    private static String failReason(Outcome outcome, Decision decision) {
        return outcome.reason() == null && decision.reason().equals(outcome.why()) ? null : decision.reason();
    }
}
