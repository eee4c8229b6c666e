package dev.drover.kubernetes;

import dev.drover.cluster.Settlement;
import dev.drover.kubernetes.KubeWatches.JobWatch;
import dev.drover.kubernetes.KubeWatches.RunWatch;
import dev.drover.run.Run;
import dev.drover.run.TaskState;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStateWaiting;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

import static dev.drover.kubernetes.KubeTracker.podAttempt;
import static dev.drover.kubernetes.KubeTracker.settle;
import static dev.drover.kubernetes.KubeTracker.settleAttempt;
import static dev.drover.kubernetes.KubeTracker.startIfNew;

/**
 * Pods that cannot start, for {@link KubeTracker}: Kubernetes keeps retrying a container it cannot pull or create
 * without counting a failure, so drover gives up on such a pod after drover.kubernetes.image-pull-grace: on its whole
 * Job if no pod of the Job ever ran (the image or its config is wrong for all of them), else on that pod alone (one
 * node that cannot pull), leaving the Job's healthy indexes alone.
 */
final class StuckPods {

    private static final Logger LOG = LoggerFactory.getLogger(StuckPods.class);
    /**
     * Container waiting reasons of a pod that cannot start and may stay so for good: the image cannot be pulled, or
     * the container cannot be created (a missing Secret or ConfigMap, a bad command). Kubernetes retries these
     * until the pod's activeDeadlineSeconds (if the run has a time limit) or for ever, with no failure the Job
     * counts before that. ContainerCreating and PodInitializing are not among them: they pass by themselves.
     */
    static final Set<String> STUCK_REASONS = Set.of("ErrImagePull", "ImagePullBackOff", "InvalidImageName",
            "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError");
    /** Of those, the ones that never recover (the image reference itself is wrong): no grace. */
    static final Set<String> NEVER_RECOVERS = Set.of("InvalidImageName");

    private final KubeClients clients;
    private final KubeSettings settings;
    /** Monotonic nanoseconds: how long a pod has been stuck is measured with it. */
    private final LongSupplier nanoClock;

    StuckPods(KubeClients clients, KubeSettings settings, LongSupplier nanoClock) {
        this.clients = clients;
        this.settings = settings;
        this.nanoClock = nanoClock;
    }

    /**
     * A pod not running yet: its container's waiting reason (ErrImagePull, ImagePullBackOff,
     * CreateContainerConfigError, ...) becomes the task's backendState, so that a wrong image shows in the journal and
     * the log instead of a run that silently waits. Kubernetes keeps retrying; drover does for
     * drover.kubernetes.image-pull-grace seconds of the same pod waiting for one of {@link #STUCK_REASONS} in a row
     * (ErrImagePull and ImagePullBackOff alternate: both count), then marks the pod to be given up on in this cycle
     * ({@link JobWatch#stuck}); at once for {@link #NEVER_RECOVERS}. The time is drover's own observation, so a
     * restarted drover grants the grace again.
     */
    void onWaiting(RunWatch watch, JobWatch jw, int index, Pod pod) {
        ContainerStatus waitingStatus = null;
        if (pod.getStatus() != null && pod.getStatus().getContainerStatuses() != null) {
            for (ContainerStatus status : pod.getStatus().getContainerStatuses()) {
                if (status.getState() != null && status.getState().getWaiting() != null) {
                    waitingStatus = status;
                }
            }
        }
        ContainerStateWaiting waiting = waitingStatus == null ? null : waitingStatus.getState().getWaiting();
        String reason = waiting == null ? null : waiting.getReason();
        String podName = pod.getMetadata().getName();
        if (reason != null && !"ContainerCreating".equals(reason) && !reason.equals(jw.waiting.get(index))) {
            jw.waiting.put(index, reason);
            watch.run.taskBackend(jw.tasks[index].index(), jw.backendId(index), reason);
            if (STUCK_REASONS.contains(reason) && watch.warnedImage.compareAndSet(false, true)) {
                LOG.warn("run {}: pod {} cannot start: {} (image {}); Kubernetes keeps retrying, drover gives up on"
                        + " it (on Job {} if none of its pods ran) if it is still so after {} s", watch.run.id(),
                        podName, reason, image(pod, waitingStatus, watch), jw.name, settings.imagePullGraceSeconds());
            }
        }
        if (reason == null || !STUCK_REASONS.contains(reason)) {
            return;
        }
        long now = nanoClock.getAsLong();
        long since = jw.stuckSince.computeIfAbsent(podName, k -> now);
        jw.stuckSeen.add(podName);
        long waitedMillis = TimeUnit.NANOSECONDS.toMillis(now - since);
        boolean never = NEVER_RECOVERS.contains(reason);
        if (never || waitedMillis >= settings.imagePullGraceSeconds() * 1000L) {
            jw.stuck.put(index, new Stuck(pod, image(pod, waitingStatus, watch), reason, waiting.getMessage(),
                    never ? -1 : waitedMillis / 1000));
        }
    }

    /** The image of a pod's task container: its spec's (what the kubelet pulls), else its status', else the plan's. */
    private static String image(Pod pod, ContainerStatus status, RunWatch watch) {
        if (pod.getSpec() != null && pod.getSpec().getContainers() != null) {
            for (Container container : pod.getSpec().getContainers()) {
                if (container.getImage() != null && (status == null || container.getName() == null
                        || container.getName().equals(status.getName()))) {
                    return container.getImage();
                }
            }
        }
        return status != null && status.getImage() != null ? status.getImage() : watch.run.plan().image();
    }

    /**
     * The reason a task fails with when its pod or Job is given up on: the pod, what is wrong, Kubernetes' reason and
     * message, how long drover waited (-1: not at all) and what to do.
     *
     * @param alone the Job's other pods started, so the pod's node is to blame rather than the image
     */
    static String stuckReason(String podName, String image, String reason, String message, long waitedSeconds,
                              boolean alone) {
        String what = switch (reason) {
            case "InvalidImageName" -> "image \"" + image + "\" is not a valid image reference";
            case "CreateContainerConfigError" -> "the container (image \"" + image + "\") cannot be configured";
            case "CreateContainerError" -> "the container (image \"" + image + "\") cannot be created";
            default -> "image \"" + image + "\" cannot be pulled";
        };
        String fix = alone ? "other pods of the Job started: check the pod's node" : switch (reason) {
            case "CreateContainerConfigError" -> "check the Secrets and ConfigMaps the pod refers to";
            case "CreateContainerError" -> "check the image's entrypoint and the task's command";
            default -> "fix the image in the manifest or --job-resources image=";
        };
        String detail = message != null && !message.isBlank() ? reason + ": " + message.strip() : reason;
        return "pod " + podName + ": " + what + ": " + detail + " ("
                + (waitedSeconds >= 0 ? "waited " + waitedSeconds + " s; " : "") + fix + ")";
    }

    /**
     * Gives up on a Job none of whose pods ever ran, one of which cannot start ({@link JobWatch#stuck}): deletes it
     * (Background propagation, as a cancel does, so its pods and ConfigMap go too) and fails every task it still holds
     * with the pod's reason. All of the Job's pods share the image and none could start, so its other indexes would
     * get stuck the same way; no pod ran, so there is no log to lose.
     *
     * <p>No retry is spent: drover settles the tasks FAILED directly instead of sending them to a new Job: another
     * attempt would pull the same image and wait the same grace for nothing. The tasks are settled in the same cycle, so the Job leaves the watch
     * before its absence from the next list could be taken for a deletion by someone else
     * ({@link KubeTracker#MISSING_CYCLES}); {@link JobWatch#givenUp} says so for good. Should drover die between the delete and the settling, the restart
     * finds the Job gone and fails its tasks as deleted: failed either way, only with a vaguer reason.
     */
    private void giveUpJob(RunWatch watch, JobWatch jw, String reason) {
        Run run = watch.run;
        int open = jw.size() - jw.terminal.cardinality();
        LOG.error("run {}: {}; no pod of Job {} ever ran: deleting it and failing its {} unfinished tasks", run.id(),
                reason, jw.name, open);
        jw.givenUp = true;
        try {
            KubeApi.deleteJob(settings, clients.get(), watch.namespace, jw.name);
        } catch (RuntimeException e) {
            LOG.error("run {}: cannot delete Job {} ({}); delete it with: kubectl delete job -n {} {}", run.id(),
                    jw.name, KubeApi.describe(e), watch.namespace, jw.name);
        }
        for (int i = jw.terminal.nextClearBit(0); i < jw.size(); i = jw.terminal.nextClearBit(i + 1)) {
            settle(run, jw, i, jw.currentAttempt(i), TaskState.FAILED, Integer.MIN_VALUE, reason);
        }
    }

    /**
     * Gives up on one pod that cannot start in a Job whose other pods do run (one node that cannot pull, say): the
     * rest of the Job is left alone. The pod is deleted, so that it cannot start later behind drover's back; its
     * index fails in the Job, and drover settles the attempt as any other failed one: it runs again in a new Job
     * while its retries last.
     */
    private void giveUpIndex(RunWatch watch, JobWatch jw, int index, Stuck stuck) {
        Run run = watch.run;
        String podName = stuck.pod.getMetadata().getName();
        String reason = stuck.reason(true);
        try {
            KubeApi.retrying(settings, () -> clients.get().pods().inNamespace(watch.namespace).withName(podName)
                    .delete());
        } catch (RuntimeException e) {
            // kept stuck: tried again next cycle (the pod must not start later for a task already reported)
            if (jw.undeletable.add(podName)) {
                LOG.error("run {}: cannot delete pod {} ({}); drover retries; delete it with: kubectl delete pod -n"
                        + " {} {}", run.id(), podName, KubeApi.describe(e), watch.namespace, podName);
            }
            return;
        }
        jw.finishedPods.add(podName);
        int task = jw.tasks[index].index();
        int attempt = podAttempt(jw, index, stuck.pod);
        jw.podAttempts.put(podName, attempt);
        startIfNew(run, task, attempt, jw.backendId(index));
        LOG.warn("run {}: {}; deleted the pod (the Job's other tasks go on)", run.id(), reason);
        settleAttempt(watch, jw, index, attempt, new Settlement.Outcome(Integer.MIN_VALUE, stuck.waitingReason(),
                reason, Settlement.Cause.EXIT));
    }

    /**
     * Whether a pod of the Job ran, by its status (after a restart drover may have seen none of them). Not by its
     * failed count: a pod that never started its container counts there too (stopped at its deadline, or deleted).
     */
    private static boolean ran(Job job) {
        var status = job.getStatus();
        return status != null && (positive(status.getSucceeded()) || positive(status.getReady())
                || (status.getCompletedIndexes() != null && !status.getCompletedIndexes().isBlank()));
    }

    private static boolean positive(Integer count) {
        return count != null && count > 0;
    }

    /**
     * After a cycle has seen all of a Job's pods: gives up on the pods stuck past the grace ({@link JobWatch#stuck}),
     * on the whole Job if none of its pods ever ran ({@link #giveUpJob}), else on each of those pods alone
     * ({@link #giveUpIndex}).
     */
    void giveUp(RunWatch watch, JobWatch jw, Job job) {
        if (!jw.stuck.isEmpty() && job != null && !jw.settled()) {
            if (jw.ran || ran(job)) {
                jw.stuck.forEach((index, stuck) -> {
                    if (!jw.terminal.get(index)) {
                        giveUpIndex(watch, jw, index, stuck);
                    }
                });
            } else {
                giveUpJob(watch, jw, jw.stuck.values().iterator().next().reason(false));
            }
        }
        jw.stuck.clear();
    }

    /** A pod stuck past the grace: its image, Kubernetes' waiting reason and message, how long drover waited. */
    record Stuck(Pod pod, String image, String waitingReason, String message, long waitedSeconds) {

        /** @param alone see {@link StuckPods#stuckReason} */
        String reason(boolean alone) {
            return stuckReason(pod.getMetadata().getName(), image, waitingReason, message, waitedSeconds, alone);
        }
    }
}
