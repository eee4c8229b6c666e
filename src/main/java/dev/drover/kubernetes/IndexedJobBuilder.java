package dev.drover.kubernetes;

import dev.drover.cluster.GroupSpec;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.RunPlan;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobSpec;
import io.fabric8.kubernetes.api.model.batch.v1.JobSpecBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.PodFailurePolicy;
import io.fabric8.kubernetes.api.model.batch.v1.PodFailurePolicyBuilder;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntUnaryOperator;

/**
 * Builds the Indexed Job (and its ConfigMap) for a chunk of a run's tasks.
 *
 * <p>Pod index {@code i} runs task {@code i} of the chunk: the ConfigMap, mounted at {@value #TASKS_DIR}, holds a
 * POSIX shell script that rebuilds a range generator's task from the template and the index, or reads its row of a
 * compact task table ({@link PodTasks}); the container runs it under a small shell wrapper that measures what it used
 * ({@link PodUsage}). So the image needs {@code /bin/sh} and the tasks' programs, and no shared filesystem is needed.
 *
 * <p>Each Job runs one attempt per index ({@code backoffLimitPerIndex: 0}): drover decides every retry itself
 * ({@link dev.drover.cluster.Settlement}), as on SLURM, so that a retry after OOMKilled or a deadline can have more
 * memory or time and a rerun after a disruption can avoid the node, in a new Job of its group's resources.
 */
public final class IndexedJobBuilder {

    public static final String TASKS_DIR = "/drover/tasks";
    public static final String CONTAINER = "task";
    public static final String VOLUME = "drover-tasks";
    public static final String LABEL_RUN = "drover.run-id";
    public static final String LABEL_MANIFEST = "drover.manifest";
    public static final String LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
    public static final String ANNOTATION_RUN = "drover.dev/run-id";
    public static final String ANNOTATION_TOKEN = "drover.dev/submission";
    public static final String ANNOTATION_TASKS = "drover.dev/task-indexes";
    /** Bytes of script and task table that one ConfigMap may carry (the API server's limit: 1 MiB for the object). */
    static final int MAX_TABLE_BYTES = 900_000;
    /**
     * The pod's failed attempts before it at its index, which the job controller writes into an annotation of every
     * pod of a Job with backoffLimitPerIndex; the task script adds it to the attempts before the Job (DROVER_ATTEMPT).
     */
    static final String FAILURE_COUNT_ENV = "JOB_INDEX_FAILURE_COUNT";
    private static final EnvVar FAILURE_COUNT = new EnvVarBuilder().withName(FAILURE_COUNT_ENV).withNewValueFrom()
            .withNewFieldRef().withFieldPath("metadata.annotations['" + KubeTracker.FAILURE_COUNT_KEY + "']")
            .endFieldRef().endValueFrom().build();
    /**
     * A disrupted pod (preempted, evicted, its node drained or lost: the DisruptionTarget condition) fails its index
     * at once, for drover to rerun elsewhere without spending a retry. Having a policy also makes the job controller
     * count a pod only once it has ended, not while it is still terminating on its node, so that the index is never
     * failed (and run again by drover) while its container may still run.
     */
    static final PodFailurePolicy FAILURE_POLICY = new PodFailurePolicyBuilder().addNewRule().withAction("FailIndex")
            .addNewOnPodCondition().withType("DisruptionTarget").withStatus("True").endOnPodCondition().endRule()
            .build();
    private static final SecureRandom RANDOM = new SecureRandom();

    private final RunPlan plan;
    private final String runId;
    private final String namespace;
    private final Integer ttlSecondsAfterFinished;
    private final boolean suspend;
    private GroupSpec group;
    private KubeResources resources;
    private IntUnaryOperator attemptsBefore = index -> 0;

    /**
     * @param namespace null to leave it out (dry run: kubectl's current namespace applies)
     * @param suspend   create the Job suspended: drover resumes it once its ConfigMap exists
     */
    public IndexedJobBuilder(RunPlan plan, String runId, String namespace, Integer ttlSecondsAfterFinished,
                             boolean suspend) {
        this.plan = plan;
        this.runId = runId;
        this.namespace = namespace;
        this.ttlSecondsAfterFinished = ttlSecondsAfterFinished;
        this.suspend = suspend;
        group(GroupSpec.of(plan.resources()));
    }

    /** The resources the Jobs built from now on run with (a group's: the run's, or escalated) and nodes to avoid. */
    public IndexedJobBuilder group(GroupSpec spec) {
        this.group = spec;
        this.resources = KubeResources.from(spec.resources());
        return this;
    }

    /** The attempts each task (by manifest index) has had before the Jobs built from now on: the run's journal. */
    public IndexedJobBuilder attemptsBefore(IntUnaryOperator attempts) {
        this.attemptsBefore = attempts;
        return this;
    }

    /** The labels on every object of the run: the Job, its pods and the ConfigMap. */
    public static Map<String, String> labels(String runId, String manifestName) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(LABEL_RUN, KubeNames.labelValue(runId));
        labels.put(LABEL_MANIFEST, KubeNames.labelValue(manifestName));
        labels.put(LABEL_MANAGED_BY, "drover");
        return labels;
    }

    /**
     * The Jobs for some tasks: at most {@code tasksPerJob} each, and cut in halves until each ConfigMap carries at
     * most {@value #MAX_TABLE_BYTES} bytes of script and task table (only a list with long arguments needs it).
     */
    public List<KubeJob> jobs(List<TaskSpec> tasks, int tasksPerJob) {
        List<KubeJob> jobs = new ArrayList<>();
        for (int from = 0; from < tasks.size(); from += tasksPerJob) {
            cut(tasks.subList(from, Math.min(tasks.size(), from + tasksPerJob)), jobs);
        }
        return jobs;
    }

    private void cut(List<TaskSpec> tasks, List<KubeJob> out) {
        KubeJob job = build(tasks);
        if (tasks.size() > 1 && tableBytes(job) > MAX_TABLE_BYTES) {
            cut(tasks.subList(0, tasks.size() / 2), out);
            cut(tasks.subList(tasks.size() / 2, tasks.size()), out);
        } else {
            out.add(job);
        }
    }

    public KubeJob build(List<TaskSpec> tasks) {
        return build(KubeNames.jobName(plan.manifest().name()), tasks);
    }

    public KubeJob build(String name, List<TaskSpec> tasks) {
        Map<String, String> labels = labels(runId, plan.manifest().name());
        HashMap<String, String> annotations = new LinkedHashMap<>();
        annotations.put(ANNOTATION_RUN, runId);
        annotations.put(ANNOTATION_TOKEN, HexFormat.of().formatHex(RANDOM.generateSeed(8)));
        annotations.put(ANNOTATION_TASKS, tasks.get(0).index() + "-" + tasks.get(tasks.size() - 1).index());
        int n = tasks.size();
        int parallelism = plan.jobs() > 0 ? Math.min(plan.jobs(), n) : n;
        PodDeadline podDeadline = PodDeadline.of(plan, group.resources());
        JobSpec spec = new JobSpecBuilder()
                .withCompletionMode("Indexed")
                .withCompletions(n)
                .withParallelism(parallelism)
                .withBackoffLimitPerIndex(0)
                .withPodFailurePolicy(FAILURE_POLICY)
                .withTtlSecondsAfterFinished(ttlSecondsAfterFinished)
                .withSuspend(suspend ? Boolean.TRUE : null)
                .withNewTemplate()
                .withNewMetadata().withLabels(labels).withAnnotations(Map.of(ANNOTATION_RUN, runId)).endMetadata()
                .withSpec(new PodSpecBuilder()
                        .withRestartPolicy("Never")
                        .withActiveDeadlineSeconds(podDeadline == null ? null : podDeadline.seconds())
                        .withServiceAccountName(resources.serviceAccount())
                        .withNodeSelector(resources.nodeSelector().isEmpty() ? null : resources.nodeSelector())
                        .withAffinity(resources.affinity(group.avoid()))
                        .addNewContainer()
                        .withName(CONTAINER)
                        .withImage(plan.image())
                        .withCommand(PodUsage.COMMAND)
                        .withEnv(new EnvVarBuilder().withName("DROVER_RUN_ID").withValue(runId).build(), FAILURE_COUNT)
                        .withResources(resources.requests().isEmpty() && resources.limits().isEmpty() ? null
                                : resources.requirements())
                        .addNewVolumeMount().withName(VOLUME).withMountPath(TASKS_DIR).withReadOnly(true)
                        .endVolumeMount()
                        .endContainer()
                        .addNewVolume().withName(VOLUME).withNewConfigMap().withName(name).endConfigMap().endVolume()
                        .build())
                .endTemplate()
                .build();
        Map<String, String> data = PodTasks.data(runId, plan.manifest().tasks(), tasks, attemptsBefore);
        ConfigMap configMap = new ConfigMapBuilder().withNewMetadata().withName(name).withNamespace(namespace)
                .withLabels(labels).withAnnotations(Map.of(ANNOTATION_RUN, runId)).endMetadata()
                .withData(data).withImmutable(true).build();
        List<TaskSpec> held = tasks instanceof ConsecutiveTasks slice ? slice : List.copyOf(tasks); // both unmodifiable
        return new KubeJob(runId, namespace, name, labels, annotations, spec, configMap, held,
                group, annotations.get(ANNOTATION_TOKEN));
    }

    /** Bytes of a chunk's script and task table, to keep its ConfigMap under the API server's size limit. */
    static long tableBytes(KubeJob job) {
        return job.configMap().getData().values().stream()
                .mapToLong(s -> s.getBytes(StandardCharsets.UTF_8).length).sum();
    }
}
