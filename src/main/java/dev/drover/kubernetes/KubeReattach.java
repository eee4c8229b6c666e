package dev.drover.kubernetes;

import dev.drover.cluster.ClusterBackend;
import dev.drover.manifest.TaskSpec;
import dev.drover.run.Run;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;

/**
 * The Kubernetes side of a restart ({@link dev.drover.cluster.ClusterLane#reattach} decides which Jobs): one list of
 * the run's Jobs; a committed Job is followed again (what its pods did meanwhile is read on the next cycle); a Job
 * without a commit, or one still suspended without a trace of a pod, never ran one and is deleted. If the list
 * fails, re-attaching goes by the journal alone.
 */
final class KubeReattach implements ClusterBackend.Reattach {

    private static final Logger LOG = LoggerFactory.getLogger(KubeReattach.class);

    private final Run run;
    private final String namespace;
    private final KubernetesBackend backend;
    /** The run's Jobs by name; null if the API could not be read. */
    private final Map<String, Job> live;

    KubeReattach(Run run, String namespace, KubernetesBackend backend) {
        this.run = run;
        this.namespace = namespace;
        this.backend = backend;
        this.live = liveJobs();
    }

    private Map<String, Job> liveJobs() {
        try {
            Map<String, Job> jobs = new HashMap<>();
            for (Job job : KubeApi.retrying(backend.settings(), () -> backend.clients().get().batch().v1().jobs()
                    .inNamespace(namespace).withLabel(IndexedJobBuilder.LABEL_RUN, KubeNames.labelValue(run.id()))
                    .list().getItems())) {
                jobs.put(job.getMetadata().getName(), job);
            }
            return jobs;
        } catch (RuntimeException e) {
            LOG.error("run {}: cannot list its Jobs to re-attach ({}); following the Jobs its journal names: one that"
                    + " a crash left suspended stays so, delete it with: kubectl delete jobs -n {} -l {}={}", run.id(),
                    KubeApi.describe(e), namespace, IndexedJobBuilder.LABEL_RUN, KubeNames.labelValue(run.id()));
            return null;
        }
    }

    /** Suspended, and its status shows no pod: drover never resumed it (or it was suspended before any pod). */
    @Override
    public boolean neverRan(String name) {
        Job job = live == null ? null : live.get(name);
        if (job == null || job.getSpec() == null || !Boolean.TRUE.equals(job.getSpec().getSuspend())) {
            return false;
        }
        JobStatus status = job.getStatus();
        return status == null || (isZero(status.getActive()) && isZero(status.getSucceeded())
                && isZero(status.getFailed()) && status.getStartTime() == null);
    }

    private static boolean isZero(Integer count) {
        return count == null || count == 0;
    }

    /** Deletes the Jobs that exist of those named (their tasks are back in the queue already). */
    @Override
    public void abandon(List<String> names, Set<String> journalled) {
        if (live == null) {
            return; // nothing is known to exist: a Job left suspended stays so (logged above)
        }
        for (String name : names) {
            if (live.containsKey(name)) {
                LOG.info("run {}: deleting Job {}, which never ran a pod; its tasks run in a new Job", run.id(), name);
                backend.deleteQuietly(namespace, name);
            }
        }
    }

    @Override
    public void follow(String name, String uid, SortedMap<Integer, List<Integer>> held) {
        Job job = live != null ? live.get(name) : null;
        if (live != null && job == null) {
            // It may have run its tasks before TTL or someone deleted it: the tracker fails them (result unknown)
            // after its usual missing cycles rather than run them a second time.
            LOG.warn("run {}: Job {} is gone; its {} unfinished tasks will fail", run.id(), name, held.size());
        }
        int completions = job != null && job.getSpec() != null && job.getSpec().getCompletions() != null
                ? job.getSpec().getCompletions() : 0;
        TaskSpec[] tasks = new TaskSpec[Math.max(completions, held.lastKey() + 1)];
        held.forEach((index, indices) -> tasks[index] = run.plan().manifest().tasks().task(indices.get(0)));
        backend.tracker().reattach(backend.tracker().watching(run), name, tasks);
    }
}
