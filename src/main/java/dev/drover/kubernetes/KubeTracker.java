package dev.drover.kubernetes;

import dev.drover.cluster.ClusterBackend;
import dev.drover.cluster.ClusterScheduler;
import dev.drover.cluster.Settlement;
import dev.drover.kubernetes.KubeWatches.JobWatch;
import dev.drover.kubernetes.KubeWatches.RunWatch;
import dev.drover.manifest.TaskSpec;
import dev.drover.run.Run;
import dev.drover.run.TaskState;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Follows the Indexed Jobs of every kubernetes run: each cycle makes one Job list and one Pod list per run (by the
 * {@code drover.run-id} label, never one call per Job or task) and turns what it sees into task states. Per index,
 * the pods' {@code containerStatuses[].state.terminated} give the exit code and Kubernetes' reason (Completed, Error,
 * OOMKilled, ...); a pod's log is saved into the run directory as soon as the pod has ended, before
 * ttlSecondsAfterFinished can delete it. Each ended pod is settled through the run's {@link ClusterBackend.Settler}
 * (one decision for every cluster): a task that runs again goes to a new Job, as each Job runs one attempt per index.
 * A pod seen running that is gone while its Job counts its index as failed was lost ({@link #LOST}: evicted, lost
 * with its node, deleted): it runs again without spending a retry. Job conditions settle indexes whose pod result is
 * gone or that never got one ({@link #NOT_STARTED}). Pods that cannot start are given up on by {@link StuckPods}.
 */
public final class KubeTracker implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(KubeTracker.class);
    static final String INDEX_KEY = "batch.kubernetes.io/job-completion-index";
    static final String JOB_NAME_KEY = "batch.kubernetes.io/job-name";
    static final String FAILURE_COUNT_KEY = "batch.kubernetes.io/job-index-failure-count";
    /** Cycles a Job may be missing from the list before its unsettled tasks fail (it was deleted by someone). */
    static final int MISSING_CYCLES = 3;
    /** Cycles in a row the API server may refuse the status lists before the run's tasks fail. */
    static final int REFUSED_CYCLES = 5;
    /** The backendState of a task whose Job failed before any pod of its index was seen running. */
    static final String NOT_STARTED = "NotStarted";
    /** The backendState of a task whose pod was seen running and then deleted before drover saw it end. */
    static final String LOST = "NodeLost";

    private final KubeClients clients;
    private final KubeSettings settings;
    private final Map<String, RunWatch> runs = new ConcurrentHashMap<>();
    private final StuckPods stuckPods;
    private final ClusterScheduler scheduler;
    private final MeterRegistry meters;
    /** Monotonic nanoseconds: how long a pod has been stuck is measured with it (tests turn it by hand). */
    LongSupplier nanoClock = System::nanoTime;

    public KubeTracker(KubeClients clients, KubeSettings settings, ClusterScheduler scheduler, MeterRegistry meters) {
        this.clients = clients;
        this.settings = settings;
        this.scheduler = scheduler;
        this.meters = meters;
        this.stuckPods = new StuckPods(clients, settings, () -> nanoClock.getAsLong());
    }

    /** Starts following a run (idempotent); the lane's cancel of the run calls {@link #cancel}. */
    synchronized RunWatch watch(Run run, String namespace, ClusterBackend.Settler settler) {
        RunWatch existing = runs.get(run.id());
        if (existing != null) {
            return existing;
        }
        RunWatch watch = new RunWatch(run, namespace, settler);
        runs.put(run.id(), watch);
        Duration interval = Duration.ofMillis(settings.pollMillis());
        watch.poller = scheduler.poller("run " + run.id() + " (kubernetes)", () -> cycle(watch), interval, interval)
                .start();
        run.onFinish(() -> {
            runs.remove(run.id());
            watch.poller.stop();
        });
        return watch;
    }

    /** The run's watch, made by {@link #watch} when the lane started following the run. */
    RunWatch watching(Run run) {
        return runs.get(run.id());
    }

    /** Follows a Job just created; its tasks' latest attempt (the lane's claim) is the one its first pods run. */
    void track(RunWatch watch, KubeJob job) {
        Run run = watch.run;
        TaskSpec[] tasks = job.tasks().toArray(TaskSpec[]::new);
        int[] attemptsBefore = new int[tasks.length];
        for (int i = 0; i < tasks.length; i++) {
            attemptsBefore[i] = Math.max(0, run.attempts(tasks[i].index()) - 1);
        }
        watch.jobs.put(job.name(), new JobWatch(job.name(), tasks, attemptsBefore,
                PodDeadline.of(run.plan(), job.group().resources())));
    }

    /**
     * Follows a Job again after a restart: what its pods did meanwhile is read on the next cycle.
     *
     * @param tasks the tasks the Job holds, by Job index; null at indexes whose task had ended before
     */
    void reattach(RunWatch watch, String jobName, TaskSpec[] tasks) {
        Run run = watch.run;
        int[] attemptsBefore = new int[tasks.length];
        PodDeadline deadline = null;
        for (int i = 0; i < tasks.length; i++) {
            if (tasks[i] != null) {
                // a Job runs one attempt of each index, the one its claim started
                attemptsBefore[i] = Math.max(0, run.attempts(tasks[i].index()) - 1);
                // the Job's tasks share their resources: the group they were submitted in
                deadline = PodDeadline.of(run.plan(), run.taskResources(tasks[i].index()));
            }
        }
        watch.jobs.put(jobName, new JobWatch(jobName, tasks, attemptsBefore, deadline));
    }

    /** A cycle on the scheduler, every poll-interval (a Kubernetes list costs the same whatever changed). */
    private boolean cycle(RunWatch watch) {
        if (!watch.jobs.isEmpty() && !watch.run.isCancelled()) {
            synchronized (watch) {
                pollOnce(watch);
            }
        }
        return false;
    }

    /**
     * One cycle, surviving API failures: transient ones (5xx, 429, connection) are retried on the next cycle for as
     * long as they last; an answer that will not change (403 after RBAC changed, 401, ...) {@value #REFUSED_CYCLES}
     * times in a row fails the run's unsettled tasks, with the answer as reason, instead of waiting forever.
     */
    void pollOnce(RunWatch watch) {
        try {
            poll(watch);
            watch.refusals = 0;
        } catch (RuntimeException e) {
            LOG.warn("run {}: cannot read the Jobs' status (retrying): {}", watch.run.id(), KubeApi.describe(e));
            if (!KubeApi.isTransient(e) && ++watch.refusals >= REFUSED_CYCLES) {
                String reason = "drover cannot follow the run's Jobs: " + KubeApi.describe(e);
                LOG.error("run {}: {}", watch.run.id(), reason);
                for (JobWatch jw : watch.jobs.values()) {
                    for (int i = jw.terminal.nextClearBit(0); i < jw.size(); i = jw.terminal.nextClearBit(i + 1)) {
                        settle(watch.run, jw, i, jw.attempts[i], TaskState.FAILED, Integer.MIN_VALUE, reason);
                    }
                }
                watch.jobs.clear();
            }
        }
    }

    /** One cycle for one run: one Job list, one Pod list; the tasks it settled to run again go back together. */
    void poll(RunWatch watch) {
        try {
            pollJobs(watch);
        } finally {
            if (!watch.retried.isEmpty()) {
                List<Integer> again = List.copyOf(watch.retried);
                watch.retried.clear();
                if (!watch.run.isCancelled()) {
                    watch.settler.retry(again);
                }
            }
        }
    }

    private void pollJobs(RunWatch watch) {
        KubernetesClient client = clients.get();
        String label = KubeNames.labelValue(watch.run.id());
        Map<String, Job> jobs = new HashMap<>();
        meters.counter(KubernetesBackend.API_CALLS, "call", "list-jobs").increment();
        for (Job job : client.batch().v1().jobs().inNamespace(watch.namespace)
                .withLabel(IndexedJobBuilder.LABEL_RUN, label).list().getItems()) {
            jobs.put(job.getMetadata().getName(), job);
        }
        Map<String, List<Pod>> podsByJob = new HashMap<>();
        meters.counter(KubernetesBackend.API_CALLS, "call", "list-pods").increment();
        for (Pod pod : client.pods().inNamespace(watch.namespace).withLabel(IndexedJobBuilder.LABEL_RUN, label)
                .list().getItems()) {
            String jobName = KubeStatus.labelOrAnnotation(pod, JOB_NAME_KEY);
            if (jobName == null) {
                jobName = KubeStatus.labelOrAnnotation(pod, "job-name");
            }
            if (jobName != null) {
                podsByJob.computeIfAbsent(jobName, k -> new ArrayList<>()).add(pod);
            }
        }
        for (JobWatch jw : watch.jobs.values()) {
            if (jw.settled()) {
                continue;
            }
            List<Pod> pods = podsByJob.getOrDefault(jw.name, new ArrayList<>());
            jw.stuckSeen.clear();
            // attempts in order: Kubernetes' per-index failure count first, then creation time
            pods.sort(Comparator.comparingInt(KubeStatus::failureCount)
                    .thenComparing(p -> KubeStatus.created(p))
                    .thenComparing(p -> p.getMetadata().getName()));
            Job job = jobs.get(jw.name);
            Set<Integer> withPods = new java.util.HashSet<>();
            for (Pod pod : pods) {
                int index = KubeStatus.index(pod);
                withPods.add(index);
                if (index >= 0 && index < jw.size() && !jw.terminal.get(index)) {
                    onPod(watch, jw, index, pod);
                }
            }
            // a pod stuck no more (started, deleted, replaced) starts its grace afresh should it get stuck again
            jw.stuckSince.keySet().retainAll(jw.stuckSeen);
            settleLost(watch, jw, job, withPods);
            settleFromJob(watch, jw, job);
            stuckPods.giveUp(watch, jw, job);
            if (jw.settled()) {
                watch.jobs.remove(jw.name);
            }
        }
    }

    private void onPod(RunWatch watch, JobWatch jw, int index, Pod pod) {
        String podName = pod.getMetadata().getName();
        if (jw.finishedPods.contains(podName)) {
            return;
        }
        String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
        boolean ended = "Succeeded".equals(phase) || "Failed".equals(phase);
        if (!"Running".equals(phase) && !ended) {
            stuckPods.onWaiting(watch, jw, index, pod);
            return;
        }
        jw.ran |= !"Failed".equals(phase) || PodOutcome.terminated(pod) != null;
        TaskSpec task = jw.tasks[index];
        Run run = watch.run;
        Integer attempt = jw.podAttempts.get(podName);
        if (attempt == null) {
            attempt = podAttempt(jw, index, pod);
            jw.podAttempts.put(podName, attempt);
            if (ended && attempt < run.attempts(task.index())) {
                // a failed attempt the journal has from before a restart (its retry was started with it)
                jw.finishedPods.add(podName);
                return;
            }
            startIfNew(run, task.index(), attempt, jw.backendId(index));
            String node = pod.getSpec() != null ? pod.getSpec().getNodeName() : null;
            if (node != null) {
                jw.nodes.put(index, node);
            }
            run.taskBackend(task.index(), jw.backendId(index), ended ? null : "Running", node);
        }
        if (!ended) {
            return;
        }
        jw.finishedPods.add(podName);
        PodLogs.save(clients, watch, task, podName, attempt);
        dev.drover.run.TaskUsage usage = PodUsage.of(PodOutcome.terminated(pod));
        if (usage != null) {
            run.taskUsage(task.index(), attempt, usage); // before the attempt's end, as on every strategy
        }
        settleAttempt(watch, jw, index, attempt, PodOutcome.of(pod, jw.deadline).settlement());
    }

    /** An ended attempt, through the one decision; a task that runs again does so in a new Job. */
    static void settleAttempt(RunWatch watch, JobWatch jw, int index, int attempt, Settlement.Outcome outcome) {
        jw.terminal.set(index);
        int task = jw.tasks[index].index();
        if (watch.settler.settle(task, attempt, outcome)) {
            watch.retried.add(task);
        }
    }

    /**
     * Indexes the Job counts as failed whose pod drover saw running and is now gone, unseen ended: deleted before it
     * ended (evicted, lost with its node, deleted by someone; the job controller has given up on it). Not the
     * task's fault as far as drover can tell: it runs again without spending a retry, within the rerun bound.
     */
    private void settleLost(RunWatch watch, JobWatch jw, Job job, Set<Integer> withPods) {
        if (job == null || job.getStatus() == null) {
            return;
        }
        for (int i : KubeStatus.indexes(job.getStatus().getFailedIndexes())) {
            if (i < jw.size() && !jw.terminal.get(i) && !withPods.contains(i) && jw.attempts[i] > jw.attemptsBefore[i]) {
                String node = jw.nodes.get(i);
                settleAttempt(watch, jw, i, jw.attempts[i], new Settlement.Outcome(Integer.MIN_VALUE, LOST, LOST
                        + ": the task's pod was deleted before it ended (evicted, lost with its node"
                        + (node != null ? " " + node : "") + ", or deleted by someone)", Settlement.Cause.NODE_FAIL,
                        node));
            }
        }
    }

    /** Indexes without a pod result: done by the Job's completedIndexes, failed by its Failed condition. */
    private void settleFromJob(RunWatch watch, JobWatch jw, Job job) {
        Run run = watch.run;
        if (job == null) {
            if (!jw.givenUp && ++jw.missingCycles >= MISSING_CYCLES) {
                for (int i = jw.terminal.nextClearBit(0); i < jw.size(); i = jw.terminal.nextClearBit(i + 1)) {
                    settle(run, jw, i, jw.currentAttempt(i), TaskState.FAILED, Integer.MIN_VALUE,
                            "Job " + jw.name + " was deleted before its result was seen");
                }
            }
            return;
        }
        jw.missingCycles = 0;
        if (job.getStatus() == null) {
            return;
        }
        Set<Integer> completed = KubeStatus.indexes(job.getStatus().getCompletedIndexes());
        for (int i : completed) {
            if (i < jw.size() && !jw.terminal.get(i)) {
                int attempt = Math.max(jw.currentAttempt(i), run.attempts(jw.tasks[i].index()));
                startIfNew(run, jw.tasks[i].index(), attempt, jw.backendId(i));
                run.taskBackend(jw.tasks[i].index(), jw.backendId(i), "Completed");
                settle(run, jw, i, attempt, TaskState.SUCCEEDED, 0, null);
            }
        }
        JobCondition failed = KubeStatus.condition(job, "Failed");
        if (failed != null) {
            String reason = failed.getReason() != null ? failed.getReason() : "Failed";
            String why = reason + ": " + (failed.getMessage() != null ? failed.getMessage() : "the Job failed");
            Set<Integer> failedIndexes = KubeStatus.indexes(job.getStatus().getFailedIndexes());
            for (int i = jw.terminal.nextClearBit(0); i < jw.size(); i = jw.terminal.nextClearBit(i + 1)) {
                int task = jw.tasks[i].index();
                if (jw.attempts[i] > jw.attemptsBefore[i]) {
                    run.taskBackend(task, jw.backendId(i), reason);
                    settle(run, jw, i, jw.attempts[i], TaskState.FAILED, Integer.MIN_VALUE, why);
                } else if (failedIndexes.contains(i)) {
                    run.taskBackend(task, jw.backendId(i), "Failed");
                    settle(run, jw, i, jw.currentAttempt(i), TaskState.FAILED, Integer.MIN_VALUE, "Job " + jw.name
                            + " counts the task as failed (" + why + "); its pods are gone, so their exit code is"
                            + " unknown");
                } else {
                    // Not run again: a pod may have run between two cycles, unseen, so "never started" is all drover
                    // can tell, and a second run of the task is what exactly-once forbids.
                    run.taskBackend(task, jw.backendId(i), NOT_STARTED);
                    settle(run, jw, i, jw.currentAttempt(i), TaskState.FAILED, Integer.MIN_VALUE, "never started: Job "
                            + jw.name + " failed (" + why + ") before a pod of this task was seen running");
                }
            }
        }
    }

    /**
     * The attempt a pod of an index not counted yet is: by Kubernetes' failure count of the index when the pod has
     * it, else the next one; it becomes the index's latest attempt.
     */
    static int podAttempt(JobWatch jw, int index, Pod pod) {
        int failures = KubeStatus.failureCount(pod);
        int attempt = failures != Integer.MAX_VALUE
                ? Math.max(jw.attemptsBefore[index] + failures + 1, jw.attempts[index] + 1)
                : jw.attempts[index] + 1;
        jw.attempts[index] = attempt;
        return attempt;
    }

    /** A pod attempt the journal does not know yet starts, held by its Job from the same journal line on. */
    static void startIfNew(Run run, int task, int attempt, String backendId) {
        if (attempt > run.attempts(task)) {
            run.taskStarted(task, attempt, backendId);
        }
    }

    static void settle(Run run, JobWatch jw, int index, int attempt, TaskState state, int exitCode,
                               String reason) {
        jw.terminal.set(index);
        run.taskFinished(jw.tasks[index].index(), attempt, state, exitCode, reason);
    }

    /** Deletes the run's Jobs with background propagation (their pods and ConfigMaps go too) and settles its tasks. */
    void cancel(RunWatch watch) {
        try {
            // One list by label, then one delete per Job, each with an explicit Background policy (KubeApi.deleteJob).
            KubernetesClient client = clients.get();
            List<Job> jobs = KubeApi.retrying(settings, () -> client.batch().v1().jobs().inNamespace(watch.namespace)
                    .withLabel(IndexedJobBuilder.LABEL_RUN, KubeNames.labelValue(watch.run.id())).list().getItems());
            for (Job job : jobs) {
                KubeApi.deleteJob(settings, client, watch.namespace, job.getMetadata().getName());
            }
        } catch (RuntimeException e) {
            LOG.error("run {}: cannot delete its Jobs; delete them with: kubectl delete jobs -n {} -l {}={}",
                    watch.run.id(), watch.namespace, IndexedJobBuilder.LABEL_RUN, KubeNames.labelValue(watch.run.id()), e);
        }
        synchronized (watch) {
            for (JobWatch jw : watch.jobs.values()) {
                for (int i = jw.terminal.nextClearBit(0); i < jw.size(); i = jw.terminal.nextClearBit(i + 1)) {
                    settle(watch.run, jw, i, jw.attempts[i], TaskState.CANCELLED, Integer.MIN_VALUE, "run cancelled");
                }
            }
        }
    }

    @Override
    public void close() {
        runs.values().forEach(watch -> watch.poller.stop());
    }
}
