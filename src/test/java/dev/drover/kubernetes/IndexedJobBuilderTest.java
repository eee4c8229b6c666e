package dev.drover.kubernetes;

import dev.drover.manifest.ManifestReader;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobSpec;
import io.fabric8.kubernetes.client.utils.Serialization;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IndexedJobBuilderTest {

    private static RunPlan plan(String resources, Integer jobs) {
        return RunPlan.resolve(ManifestReader.parse("""
                name: Big_Run.v2
                image: registry.example.com/team/tool:1.4
                retries: 2
                timeout: 90s
                env: {MODE: fast}
                tasks:
                  - {id: a, command: [echo, one]}
                  - {id: b, command: [echo, two], workdir: /data}
                  - {id: c, command: [echo, three]}
                """), new RunOptions("kubernetes", jobs, resources));
    }

    private static KubeJob build(RunPlan plan) {
        List<TaskSpec> tasks = List.of(plan.manifest().tasks().task(0), plan.manifest().tasks().task(1),
                plan.manifest().tasks().task(2));
        return new IndexedJobBuilder(plan, "Big_Run.v2-20261125-120000-abcd", "batch", 600, true).build(tasks);
    }

    @Test
    void eachPodIsLimitedByTheLowerOfTimeoutAndTime() {
        assertEquals(new PodDeadline(90, PodDeadline.TIMEOUT, Duration.ofSeconds(90)), PodDeadline.of(Duration.ofSeconds(90), 1800L));
        assertEquals(new PodDeadline(60, PodDeadline.TIME, null), PodDeadline.of(Duration.ofSeconds(90), 60L));
        assertEquals(new PodDeadline(2, PodDeadline.TIMEOUT, Duration.ofMillis(1001)), PodDeadline.of(Duration.ofMillis(1001), null),
                "Kubernetes counts whole seconds: a fraction rounds up");
        assertNull(PodDeadline.of((Duration) null, null));
        JobSpec spec = build(plan("time=1", null)).spec();
        assertEquals(60L, spec.getTemplate().getSpec().getActiveDeadlineSeconds(), "time=1 is one minute, < 90 s");
        assertNull(spec.getActiveDeadlineSeconds());
        assertEquals("the task ran longer than its limit of 60 s (--job-resources time)",
                PodDeadline.of(plan("time=1", null), plan("time=1", null).resources()).exceeded());
    }

    @Test
    void indexedJobCarriesTheRunsSettings() {
        KubeJob job = build(plan("mem=32G,cpus_per_task=4,gres=gpu:1,time=00:30:00,constraint=disktype=ssd,"
                + "service_account=runner,namespace=batch", 2));
        JobSpec spec = job.spec();
        assertEquals("Indexed", spec.getCompletionMode());
        assertEquals(3, spec.getCompletions());
        assertEquals(2, spec.getParallelism(), "--jobs");
        assertEquals(0, spec.getBackoffLimitPerIndex(), "retries: 2 are drover's, each in a new Job");
        var rule = spec.getPodFailurePolicy().getRules().get(0);
        assertEquals("FailIndex", rule.getAction(), "a disrupted pod is rerun by drover, elsewhere");
        assertEquals("DisruptionTarget", rule.getOnPodConditions().get(0).getType());
        assertNull(spec.getBackoffLimit(), "unset: Kubernetes' default with backoffLimitPerIndex is unlimited");
        assertEquals(600, spec.getTtlSecondsAfterFinished());
        assertNull(spec.getActiveDeadlineSeconds(), "time limits each task, not the Job");
        assertTrue(spec.getSuspend(), "resumed once the ConfigMap exists");
        PodSpec pod = spec.getTemplate().getSpec();
        assertEquals("Never", pod.getRestartPolicy());
        assertEquals(90L, pod.getActiveDeadlineSeconds(), "the lower of timeout (90 s) and time (30 min)");
        assertEquals("runner", pod.getServiceAccountName());
        assertEquals(Map.of("disktype", "ssd"), pod.getNodeSelector());
        Container c = pod.getContainers().get(0);
        assertEquals("registry.example.com/team/tool:1.4", c.getImage());
        assertEquals(new Quantity("32Gi"), c.getResources().getRequests().get("memory"));
        assertEquals(new Quantity("32Gi"), c.getResources().getLimits().get("memory"));
        assertEquals(new Quantity("4"), c.getResources().getRequests().get("cpu"));
        assertEquals(new Quantity("1"), c.getResources().getLimits().get("nvidia.com/gpu"));
        assertEquals(job.name(), pod.getVolumes().get(0).getConfigMap().getName());
        assertEquals(IndexedJobBuilder.TASKS_DIR, c.getVolumeMounts().get(0).getMountPath());
        // labels on the Job, its pods and the ConfigMap
        for (Map<String, String> labels : List.of(job.labels(), spec.getTemplate().getMetadata().getLabels(),
                job.configMap().getMetadata().getLabels())) {
            assertEquals("Big_Run.v2-20261125-120000-abcd", labels.get(IndexedJobBuilder.LABEL_RUN));
            assertEquals("drover", labels.get(IndexedJobBuilder.LABEL_MANAGED_BY));
        }
        assertEquals(List.of(PodTasks.SCRIPT, PodTasks.TABLE), List.copyOf(job.configMap().getData().keySet()));
    }

    @Test
    void namesAreDns1123LabelsWithAUniqueSuffix() {
        KubeJob job = build(plan(null, null));
        assertTrue(job.name().matches("drover-big-run-v2-[a-z0-9]{6}"), job.name());
        String longName = KubeNames.jobName("X".repeat(64));
        assertTrue(KubeNames.isDnsLabel(longName) && longName.length() <= KubeNames.JOB_NAME_MAX, longName);
        assertTrue(!KubeNames.jobName("a").equals(KubeNames.jobName("a")), "random suffix");
        String label = KubeNames.labelValue("r".repeat(64) + "-20261125-120000-abcd");
        assertTrue(label.length() <= 63 && label.matches("[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?"), label);
        assertEquals(3, build(plan(null, null)).spec().getParallelism(), "no --jobs: all indexes at once");
    }

    @Test
    void theAttemptCountsThePodsFailuresFromTheAnnotationTheJobControllerWrites() {
        Container container = build(plan(null, null)).spec().getTemplate().getSpec().getContainers().get(0);
        assertEquals("metadata.annotations['batch.kubernetes.io/job-index-failure-count']", container.getEnv().stream()
                .filter(e -> e.getName().equals(IndexedJobBuilder.FAILURE_COUNT_ENV)).findFirst().orElseThrow()
                .getValueFrom().getFieldRef().getFieldPath());
    }

    /** A generator's ConfigMap is the same size for 10 tasks in one Job as for 100,000. */
    @Test
    void aGeneratorsConfigMapDoesNotGrowWithItsTasks() {
        long[] bytes = new long[2];
        int[] counts = {10, 100_000};
        for (int k = 0; k < 2; k++) {
            RunPlan plan = RunPlan.resolve(ManifestReader.parse("""
                    name: gen
                    image: busybox:1.36
                    env: {MODE: fast}
                    command: [convert, '--in=/data/{item}.tif', '--out=/out/{index}.png']
                    range: {start: 0, end: %d}
                    """.formatted(counts[k])), new RunOptions("kubernetes", null, null));
            List<KubeJob> jobs = new IndexedJobBuilder(plan, "gen-20261125-120000-abcd", "batch", 600, true)
                    .jobs(tasks(plan), counts[k]);
            assertEquals(1, jobs.size(), "one Job for all its tasks");
            bytes[k] = IndexedJobBuilder.tableBytes(jobs.get(0));
        }
        assertTrue(bytes[1] < 2048 && bytes[1] - bytes[0] < 32, "only digits of the counts differ: 10 tasks: " + bytes[0] + " B, 100,000: " + bytes[1]);
    }

    /**
     * A list's ConfigMap holds a row per task, a few bytes beyond its arguments: 100,000 tasks in Jobs of 1000 (the
     * default) make ConfigMaps of about 40 kB, and in one Job of 100,000 they are cut to stay under the limit.
     */
    @Test
    void aListsConfigMapIsACompactTableCutToStayWellUnderTheLimit() {
        StringBuilder manifest = new StringBuilder("name: list\nimage: busybox:1.36\ntasks:\n");
        for (int i = 0; i < 100_000; i++) {
            manifest.append("  - {id: t").append(i).append(", command: [convert, /data/").append(i).append(".tif]}\n");
        }
        RunPlan plan = RunPlan.resolve(ManifestReader.parse(manifest.toString()),
                new RunOptions("kubernetes", null, null));
        List<TaskSpec> tasks = tasks(plan);
        long argBytes = tasks.stream().flatMap(t -> t.command().stream()).mapToLong(a -> a.length() + 3).sum();
        IndexedJobBuilder builder = new IndexedJobBuilder(plan, "list-20261125-120000-abcd", "batch", 600, true);
        List<KubeJob> jobs = builder.jobs(tasks, 1000);
        assertEquals(100, jobs.size());
        long total = jobs.stream().mapToLong(IndexedJobBuilder::tableBytes).sum();
        assertTrue((total - argBytes) / tasks.size() < 25, "bytes per task beyond the quoted arguments: "
                + (total - argBytes) / tasks.size());
        assertTrue(jobs.stream().allMatch(j -> IndexedJobBuilder.tableBytes(j) < 64_000), "per ConfigMap");
        List<KubeJob> one = builder.jobs(tasks, 100_000);
        assertTrue(one.size() > 1 && one.stream().allMatch(j -> IndexedJobBuilder.tableBytes(j)
                <= IndexedJobBuilder.MAX_TABLE_BYTES), one.size() + " Jobs");
        assertEquals(tasks, one.stream().flatMap(j -> j.tasks().stream()).toList(), "every task once, in order");
    }

    private static List<TaskSpec> tasks(RunPlan plan) {
        List<TaskSpec> tasks = new java.util.ArrayList<>(plan.taskCount());
        for (int i = 0; i < plan.taskCount(); i++) {
            tasks.add(plan.manifest().tasks().task(i));
        }
        return tasks;
    }

    @Test
    void generatedObjectsUseOnlyFieldsOfTheKubernetesModel() {
        KubeJob job = build(plan("mem=1G,nodelist=n[1-2],exclude=n3,constraint=zone=a&ssd", 1));
        Job roundTrip = Serialization.unmarshal(Serialization.asYaml(job.job()), Job.class);
        StrictModel.assertNoUnknownFields(roundTrip);
        StrictModel.assertNoUnknownFields(Serialization.unmarshal(Serialization.asYaml(job.configMap()), ConfigMap.class));
        assertEquals(job.spec(), roundTrip.getSpec());
        // and the check does catch a field Kubernetes does not have
        String bogus = Serialization.asYaml(job.job()).replace("completionMode:", "completionMood: x\n  completionMode:");
        assertThrows(AssertionError.class, () -> StrictModel.assertNoUnknownFields(Serialization.unmarshal(bogus, Job.class)));
    }
}
