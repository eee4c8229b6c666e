package dev.drover.kubernetes;

import dev.drover.HostileArgv;
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
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IndexedJobBuilderTest {

    @TempDir
    Path tmp;

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
        assertEquals(List.of("task-0.sh", "task-1.sh", "task-2.sh"), List.copyOf(job.configMap().getData().keySet()));
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
    void theTaskScriptRunsTheArgvLiterallyWithItsEnvironment() throws Exception {
        TaskSpec task = new TaskSpec(7, "it's", List.of("printf", "%s|", "a b", "it's", "$HOME", "`id`", "\\n"),
                Map.of("MODE", "x y'z"), tmp.toString());
        Path script = tmp.resolve("task.sh");
        Files.writeString(script, IndexedJobBuilder.script("r", task, 0) + "");
        String withEnv = IndexedJobBuilder.script("r", new TaskSpec(7, "it's", List.of("sh", "-c",
                "echo \"$MODE/$DROVER_TASK_ID/$DROVER_TASK_INDEX/$(pwd)\""), Map.of("MODE", "x y'z"), tmp.toString()), 0);
        Path envScript = tmp.resolve("env.sh");
        Files.writeString(envScript, withEnv);
        assertEquals("a b|it's|$HOME|`id`|\\n|", run(script));
        assertEquals("x y'z/it's/7/" + tmp.toRealPath() + "\n", run(envScript));
    }

    @Test
    void droverVariablesWinOverTheManifestsOwnAndTheAttemptCountsThePodsFailures() throws Exception {
        Map<String, String> mine = Map.of("DROVER_RUN_ID", "x", "DROVER_TASK_ID", "x", "DROVER_TASK_INDEX", "x",
                "DROVER_ATTEMPT", "x", "MINE", "m");
        Path script = tmp.resolve("env.sh");
        Files.writeString(script, IndexedJobBuilder.script("run-1", new TaskSpec(4, "t4", List.of("sh", "-c",
                "echo \"$DROVER_RUN_ID|$DROVER_TASK_ID|$DROVER_TASK_INDEX|$DROVER_ATTEMPT|$MINE\""), mine, null), 1));
        assertEquals("run-1|t4|4|2|m\n", run(script), "first pod of a Job made after one attempt");
        assertEquals("run-1|t4|4|4|m\n", run(script, Map.of(IndexedJobBuilder.FAILURE_COUNT_ENV, "2")), "third pod");
        Container container = build(plan(null, null)).spec().getTemplate().getSpec().getContainers().get(0);
        assertEquals("metadata.annotations['batch.kubernetes.io/job-index-failure-count']", container.getEnv().stream()
                .filter(e -> e.getName().equals(IndexedJobBuilder.FAILURE_COUNT_ENV)).findFirst().orElseThrow()
                .getValueFrom().getFieldRef().getFieldPath());
    }

    @Test
    void aProgramWhosePathHoldsAnEqualsSignOrStartsWithADashGetsItsArgvByteExact() throws Exception {
        List<String> args = HostileArgv.everyKindOfArgument();
        Path equals = HostileArgv.argvPrinter(tmp.resolve("tools/a=b/tool=1"));
        HostileArgv.argvPrinter(tmp.resolve("bin/-dash=tool"));
        for (String program : List.of(equals.toString(), "-dash=tool")) {
            List<String> argv = new java.util.ArrayList<>(List.of(program));
            argv.addAll(args);
            Path script = tmp.resolve("task.sh");
            Files.writeString(script, IndexedJobBuilder.script("r", new TaskSpec(0, "t", argv, Map.of(), null), 0));
            // bash is /bin/sh in many images: its exec takes options, dash's does not
            for (String shell : List.of("/bin/sh", "bash")) {
                ProcessBuilder builder = new ProcessBuilder(shell, script.toString()).directory(tmp.toFile())
                        .redirectOutput(tmp.resolve("out").toFile()).redirectError(ProcessBuilder.Redirect.INHERIT);
                builder.environment().put("PATH", tmp.resolve("bin") + ":" + System.getenv("PATH"));
                Process p = builder.start();
                assertEquals(0, p.waitFor(), program + " under " + shell);
                assertEquals(args, HostileArgv.printed(tmp.resolve("out")), program + " under " + shell);
            }
        }
    }

    private static String run(Path script) throws Exception {
        return run(script, Map.of());
    }

    private static String run(Path script, Map<String, String> env) throws Exception {
        ProcessBuilder builder = new ProcessBuilder("/bin/sh", script.toString()).redirectErrorStream(true);
        builder.environment().putAll(env);
        Process p = builder.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
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
