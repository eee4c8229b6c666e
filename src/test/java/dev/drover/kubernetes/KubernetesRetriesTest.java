package dev.drover.kubernetes;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.TestPipeline;
import dev.drover.camel.DroverRuntime;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.RunState;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.drover.kubernetes.KubeTestSupport.NAMESPACE;
import static dev.drover.kubernetes.KubeTestSupport.report;
import static dev.drover.kubernetes.KubeTestSupport.task;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 13 on Kubernetes, through the whole pipeline and {@link FakeKubelet}: an OOMKilled pod runs again with more
 * memory, a pod over its activeDeadlineSeconds with more time (each spending a retry, in a new Job of the new
 * resources), a preempted pod runs again without spending one, on another node, up to the rerun bound; a task at the
 * escalation cap fails saying so. Each attempt is in the task's history, as on SLURM.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KubernetesRetriesTest {

    @TempDir
    static Path tmp;

    KubeCluster cluster;
    KubernetesMockServer server;
    KubernetesClient client;
    FakeKubelet kubelet;
    DroverRuntime runtime;

    @BeforeAll
    void start() throws Exception {
        // a pod's second lasts 20 ms: a 1-minute limit lasts 1.2 s, its escalated 2 minutes 2.4 s
        cluster = new KubeCluster(tmp, 20, Map.of("drover.cluster.node-failure-reruns", "2"));
        server = cluster.server;
        client = cluster.client;
        kubelet = cluster.kubelet;
        runtime = cluster.runtime;
    }

    @AfterAll
    void stop() throws Exception {
        cluster.close();
    }

    private Run runToEnd(String manifest, String resources) throws Exception {
        Run run = TestPipeline.submit(runtime, RunPlan.resolve(ManifestReader.parse(manifest),
                new RunOptions("kubernetes", null, resources)));
        run.finished().get(60, TimeUnit.SECONDS);
        return run;
    }

    /** The run's Jobs, oldest first. */
    private List<Job> jobsOf(Run run) {
        return client.batch().v1().jobs().inNamespace(NAMESPACE)
                .withLabel(IndexedJobBuilder.LABEL_RUN, KubeNames.labelValue(run.id())).list().getItems().stream()
                .sorted(Comparator.comparing(j -> run.submissions().keySet().stream().toList()
                        .indexOf(j.getMetadata().getName()))).toList();
    }

    private List<Pod> podsOf(Run run) {
        return client.pods().inNamespace(NAMESPACE).withLabel(IndexedJobBuilder.LABEL_RUN,
                KubeNames.labelValue(run.id())).list().getItems().stream()
                .sorted(Comparator.comparing(KubeStatus::created)).toList();
    }

    private static List<String> states(JsonNode history) {
        return java.util.stream.StreamSupport.stream(history.spliterator(), false)
                .map(h -> h.get("state").asText()).toList();
    }

    @Test
    void anOomKilledTaskRunsAgainWithMoreMemoryInANewJobAndBothAttemptsAreInItsHistory() throws Exception {
        Run run = runToEnd("""
                name: kube-oom
                image: busybox:1.36
                retries: 1
                escalate: {mem: 3}
                tasks:
                  - {id: big, command: [sh, -c, 'test "$%1$s" -ge 64 || kill -9 $$; echo fits in $%1$s MiB']}
                  - {id: small, command: [echo, small]}
                """.formatted(FakeKubelet.MEMORY_LIMIT_ENV), "mem=30M");
        assertEquals(RunState.SUCCEEDED, run.finished().get(), report(run.dir()).toString());
        JsonNode big = task(report(run.dir()), "big");
        assertEquals(2, big.get("attempts").asInt());
        JsonNode history = big.get("history");
        assertEquals(List.of("ESCALATED", "SUCCEEDED"), states(history), history.toString());
        assertEquals("OOMKilled", history.get(0).get("backendState").asText());
        assertEquals(137, history.get(0).get("exitCode").asInt());
        assertEquals("30M", history.get(0).get("resources").get("mem").asText());
        assertEquals("90M", history.get(1).get("resources").get("mem").asText());
        assertTrue(history.get(0).get("backendId").asText().endsWith("/0"), history.toString());
        assertTrue(!history.get(0).get("backendId").asText().equals(history.get(1).get("backendId").asText()),
                "the escalated attempt runs in a Job of its own resources");
        assertEquals("node-a", history.get(0).get("node").asText(), history.toString());
        assertEquals("fits in 90 MiB\n", Files.readString(run.dir().resolve("logs/big.log"))
                .lines().reduce((a, b) -> b).orElse("") + "\n");
        assertEquals(1, report(run.dir()).get("escalated").asInt());
        assertEquals(1, task(report(run.dir()), "small").get("attempts").asInt());
        for (JsonNode attempt : history) { // each attempt's own figures, from the wrapper's termination message
            assertEquals(FakeKubelet.CGROUP_CPU_USEC / 1e6, attempt.get("usage").get("cpuSeconds").asDouble(), 1e-9,
                    attempt.toString());
            assertEquals(FakeKubelet.CGROUP_PEAK_BYTES, attempt.get("usage").get("maxRssBytes").asLong());
        }
        List<Job> jobs = jobsOf(run);
        assertEquals(2, jobs.size());
        assertEquals("90Mi", jobs.get(1).getSpec().getTemplate().getSpec().getContainers().get(0).getResources()
                .getLimits().get("memory").toString());
        assertEquals(1, jobs.get(1).getSpec().getCompletions(), "only the escalated task");
    }

    @Test
    void theWrapperMeasuresEachPodAndKeepsTheTasksExitCodeAndSignals() throws Exception {
        Run run = runToEnd("""
                name: kube-usage
                image: busybox:1.36
                tasks:
                  - {id: timed, command: [sh, -c, 'sleep 0.5; echo "$0 $1"', 'arg zero', "it's one"]}
                  - {id: exit7, command: [sh, -c, 'exit 7']}
                  - {id: killed, command: [sh, -c, 'kill -TERM $$']}
                """, null);
        assertEquals(RunState.FAILED, run.finished().get());
        JsonNode report = report(run.dir());
        JsonNode timed = task(report, "timed");
        assertEquals("arg zero it's one\n", Files.readString(run.dir().resolve("logs/timed.log")));
        double wall = timed.get("usage").get("wallSeconds").asDouble();
        assertTrue(wall >= 0.45 && wall < 30, timed.toString());
        assertEquals(FakeKubelet.CGROUP_PEAK_BYTES, timed.get("usage").get("maxRssBytes").asLong());
        assertEquals(7, task(report, "exit7").get("exitCode").asInt());
        assertEquals("Error", task(report, "exit7").get("backendState").asText());
        assertEquals(143, task(report, "killed").get("exitCode").asInt(), "killed by TERM: 128 + 15, as before");
        assertTrue(task(report, "exit7").get("reason") == null || task(report, "exit7").get("reason").isNull()
                || !task(report, "exit7").get("reason").asText().contains("drover-usage"), "not the task's message");
    }

    @Test
    void aPodOverItsDeadlineRunsAgainWithMoreTime() throws Exception {
        // 90 of the kubelet's seconds: over time=1 (60 s), within the escalated 2 minutes
        Run run = runToEnd("""
                name: kube-deadline
                image: busybox:1.36
                retries: 1
                tasks: [{id: slow, command: [sh, -c, 'sleep 1.8; echo done']}]
                """, "time=1");
        assertEquals(RunState.SUCCEEDED, run.finished().get(), report(run.dir()).toString());
        JsonNode history = task(report(run.dir()), "slow").get("history");
        assertEquals(List.of("ESCALATED", "SUCCEEDED"), states(history), history.toString());
        assertEquals("DeadlineExceeded", history.get(0).get("backendState").asText());
        assertEquals("1", history.get(0).get("resources").get("time").asText());
        assertEquals("0-00:02:00", history.get(1).get("resources").get("time").asText());
        List<Job> jobs = jobsOf(run);
        assertEquals(120L, jobs.get(1).getSpec().getTemplate().getSpec().getActiveDeadlineSeconds());
    }

    @Test
    void aPreemptedPodRunsAgainOnAnotherNodeWithoutSpendingARetry() throws Exception {
        Path marker = tmp.resolve("preempted-runs");
        kubelet.disrupt("drover-kube-preempted-", 1);
        Run run = runToEnd("""
                name: kube-preempted
                image: busybox:1.36
                tasks: [{id: p, command: [sh, -c, 'echo ran >> %s']}]
                """.formatted(marker), null);
        assertEquals(RunState.SUCCEEDED, run.finished().get(), report(run.dir()).toString());
        JsonNode p = task(report(run.dir()), "p");
        assertEquals(2, p.get("attempts").asInt(), "retries: 0, and still run again");
        JsonNode history = p.get("history");
        assertEquals(List.of("RERUN", "SUCCEEDED"), states(history), history.toString());
        assertEquals("DisruptionTarget", history.get(0).get("backendState").asText());
        assertTrue(history.get(0).get("reason").asText().startsWith("DisruptionTarget: PreemptionByScheduler"),
                history.toString());
        assertEquals("node-a", history.get(0).get("node").asText());
        assertEquals("node-b", history.get(1).get("node").asText(), "the rerun avoided the node");
        assertEquals(1, report(run.dir()).get("requeued").asInt());
        List<Pod> pods = podsOf(run);
        assertEquals(List.of("node-a", "node-b"), pods.stream().map(pod -> pod.getSpec().getNodeName()).toList());
        var avoid = jobsOf(run).get(1).getSpec().getTemplate().getSpec().getAffinity().getNodeAffinity()
                .getPreferredDuringSchedulingIgnoredDuringExecution().get(0).getPreference().getMatchExpressions()
                .get(0);
        assertEquals(List.of("NotIn", List.of("node-a")), List.of(avoid.getOperator(), avoid.getValues()));
    }

    @Test
    void aOneNodeClusterStillRunsTheRerun() throws Exception {
        kubelet.nodes = List.of("only");
        try {
            kubelet.disrupt("drover-kube-one-node-", 1);
            Run run = runToEnd("""
                    name: kube-one-node
                    image: busybox:1.36
                    tasks: [{id: p, command: ['true']}]
                    """, null);
            assertEquals(RunState.SUCCEEDED, run.finished().get(), report(run.dir()).toString());
            assertEquals(List.of("only", "only"), podsOf(run).stream().map(pod -> pod.getSpec().getNodeName())
                    .toList(), "a preference, not a requirement: the only node runs it again");
        } finally {
            kubelet.nodes = List.of("node-a", "node-b");
        }
    }

    @Test
    void reRunsStopAtTheBoundAndTheTaskFailsSayingSo() throws Exception {
        kubelet.disrupt("drover-kube-broken-", 100);
        Run run = runToEnd("""
                name: kube-broken
                image: busybox:1.36
                retries: 1
                tasks: [{id: p, command: ['true']}]
                """, null);
        assertEquals(RunState.FAILED, run.finished().get());
        JsonNode p = task(report(run.dir()), "p");
        // drover.cluster.node-failure-reruns = 2 free reruns, then the retry, then failed
        assertEquals(List.of("RERUN", "RERUN", "RETRIED", "FAILED"), states(p.get("history")), p.toString());
        assertTrue(p.get("reason").asText().contains("the most drover.cluster.node-failure-reruns allows"),
                p.toString());
    }

    @Test
    void aTaskAlreadyAtTheMemoryCapFailsSayingSo() throws Exception {
        Run run = runToEnd("""
                name: kube-capped
                image: busybox:1.36
                retries: 3
                escalate: {mem: 2, maxMem: 60M}
                tasks: [{id: big, command: [sh, -c, 'kill -9 $$']}]
                """, "mem=30M");
        assertEquals(RunState.FAILED, run.finished().get());
        JsonNode big = task(report(run.dir()), "big");
        assertEquals(List.of("ESCALATED", "FAILED"), states(big.get("history")), big.toString());
        assertEquals("60M", big.get("history").get(1).get("resources").get("mem").asText());
        assertTrue(big.get("reason").asText().endsWith("mem=60M is already at escalate.maxMem, so it is not run"
                + " again"), big.toString());
    }
}
