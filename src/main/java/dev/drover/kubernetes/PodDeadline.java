package dev.drover.kubernetes;

import dev.drover.plan.RunPlan;

import java.time.Duration;

/**
 * The time limit of one attempt of one task: its pod's {@code activeDeadlineSeconds}. Both the manifest's
 * {@code timeout} and {@code --job-resources time} limit each task (SLURM's {@code time} bounds each array element,
 * and a pod is the analogue of one), so the lower of the two applies. The Job itself gets no deadline: its pods'
 * deadlines and {@code backoffLimitPerIndex} already bound the work of every index, and a Job-level bound would also
 * count the time indexes wait for a free slot ({@code parallelism}) or for the cluster's capacity, which SLURM does
 * not count either.
 *
 * @param source  which setting gave the limit, as a user writes it
 * @param timeout the manifest's timeout when it gave the limit (a task over it is reported as timed out, as on every
 *                strategy: {@link dev.drover.run.TimedOut}), else null
 */
record PodDeadline(long seconds, String source, Duration timeout) {

    static final String TIMEOUT = "the manifest's timeout";
    static final String TIME = "--job-resources time";

    /** The pod deadline of tasks of a run that run with these resources (the run's, or escalated); null if none. */
    static PodDeadline of(RunPlan plan, dev.drover.manifest.JobResources resources) {
        return of(plan.manifest().timeout(), KubeResources.from(resources).activeDeadlineSeconds());
    }

    /**
     * @param timeout the manifest's timeout (fractions of a second round up: Kubernetes counts whole seconds)
     * @param time    --job-resources time in seconds
     */
    static PodDeadline of(Duration timeout, Long time) {
        Long fromTimeout = timeout == null ? null : Math.max(1, (timeout.toMillis() + 999) / 1000);
        if (fromTimeout != null && (time == null || fromTimeout <= time)) {
            return new PodDeadline(fromTimeout, TIMEOUT, timeout);
        }
        return time == null ? null : new PodDeadline(time, TIME, null);
    }

    /** What a task that went over it is told. */
    String exceeded() {
        return "the task ran longer than its limit of " + seconds + " s (" + source + ")";
    }
}
