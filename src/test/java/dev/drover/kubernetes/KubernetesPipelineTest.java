package dev.drover.kubernetes;

import dev.drover.TestPipeline;
import dev.drover.Await;
import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.HostileArgv;
import dev.drover.camel.DroverRuntime;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.RunState;
import dev.drover.run.TaskState;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.drover.kubernetes.KubeTestSupport.NAMESPACE;
import static dev.drover.kubernetes.KubeTestSupport.report;
import static dev.drover.kubernetes.KubeTestSupport.task;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole pipeline (real runtime, real route files, camel-kubernetes' kubernetes-job producer) against the fabric8
 * mock API server in CRUD mode, with {@link FakeKubelet} running the pods as local processes; expectations on top
 * of CRUD inject API errors and serve pod logs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KubernetesPipelineTest {

    @TempDir
    static Path tmp;

    KubeCluster cluster;
    KubernetesMockServer server;
    KubernetesClient client;
    FakeKubelet kubelet;
    DroverRuntime runtime;

    @BeforeAll
    void start() throws Exception {
        // a pod's second lasts SECOND ms: deadlines keep their proportions, 2.5 times faster
        cluster = new KubeCluster(tmp, SECOND, Map.of());
        server = cluster.server;
        client = cluster.client;
        kubelet = cluster.kubelet;
        runtime = cluster.runtime;
    }

    @AfterAll
    void stop() throws Exception {
        cluster.close();
    }

    @BeforeEach
    void drainRequests() throws InterruptedException {
        while (server.takeRequest(1, TimeUnit.MILLISECONDS) != null) {
            // forget the requests of earlier tests
        }
    }

    /** A second of a pod's or Job's deadline, for the kubelet: task durations below are scaled the same way. */
    static final long SECOND = 400;

    private Run runToEnd(String manifest) throws Exception {
        Run run = TestPipeline.submit(runtime, manifest);
        run.finished().get(30, TimeUnit.SECONDS);
        return run;
    }

    /** drover's requests since the test started (not the kubelet's). */
    private List<RecordedRequest> requests() throws InterruptedException {
        List<RecordedRequest> all = new ArrayList<>();
        for (RecordedRequest r; (r = server.takeRequest(1, TimeUnit.MILLISECONDS)) != null; ) {
            if (!FakeKubelet.USER_AGENT.equals(r.getHeader("User-Agent"))) {
                all.add(r);
            }
        }
        return all;
    }

    @Test
    void droverVariablesWinOverTheManifestsOwnOnEveryAttemptAndArgvArrivesByteExact() throws Exception {
        Run run = runToEnd(HostileArgv.envAndArgvManifest(Map.of("name", "kube-env", "strategy", "kubernetes",
                "image", "busybox:1.36"), tmp));
        assertEquals(RunState.SUCCEEDED, run.finished().get(), report(run.dir()).toString());
        HostileArgv.assertEnvAndArgv(run.dir(), run.id());
    }

    @Test
    void runsEachIndexAndReportsExitCodesReasonsRetriesAndLogs() throws Exception {
        Path marker = tmp.resolve("flaky-marker");
        Run run = runToEnd("""
                name: kube-e2e
                strategy: kubernetes
                image: busybox:1.36
                retries: 1
                env: {GREETING: hi}
                tasks:
                  - id: ok
                    command: [sh, -c, 'echo "$GREETING from $DROVER_TASK_ID of $DROVER_RUN_ID"']
                  - id: fails
                    command: [sh, -c, 'echo bad; exit 3']
                  - id: oom
                    command: [sh, -c, 'kill -9 $$']
                  - id: flaky
                    command: [sh, -c, 'if [ -e %s ]; then echo second; else touch %s; echo first; exit 1; fi']
                  - id: quoting
                    command: [printf, '%%s|', "it's", 'a $HOME', '`x`']
                """.formatted(marker, marker));
        assertEquals(RunState.FAILED, run.finished().get());
        List<RecordedRequest> droverRequests = requests();
        JsonNode report = report(run.dir());

        JsonNode ok = task(report, "ok");
        assertEquals("SUCCEEDED", ok.get("state").asText());
        assertEquals(0, ok.get("exitCode").asInt());
        assertEquals("Completed", ok.get("backendState").asText());
        assertTrue(ok.get("backendId").asText().matches("drover-kube-e2e-[a-z0-9]{6}/0"), ok.toString());
        assertEquals("hi from ok of " + run.id() + "\n", Files.readString(run.dir().resolve("logs/ok.log")));

        JsonNode fails = task(report, "fails");
        assertEquals("FAILED", fails.get("state").asText());
        assertEquals(3, fails.get("exitCode").asInt());
        assertEquals(2, fails.get("attempts").asInt(), "retries: 1 → two pods");
        assertEquals("Error", fails.get("backendState").asText());

        JsonNode oom = task(report, "oom");
        assertEquals("FAILED", oom.get("state").asText());
        assertEquals(137, oom.get("exitCode").asInt());
        assertEquals("OOMKilled", oom.get("backendState").asText());
        assertTrue(oom.get("reason").asText().startsWith("OOMKilled"), oom.toString());

        JsonNode flaky = task(report, "flaky");
        assertEquals("SUCCEEDED", flaky.get("state").asText());
        assertEquals(2, flaky.get("attempts").asInt());
        String flakyLog = Files.readString(run.dir().resolve("logs/flaky.log"));
        assertTrue(flakyLog.startsWith("first\n--- drover: attempt 2"), flakyLog);
        assertTrue(flakyLog.endsWith("second\n"), flakyLog);

        assertEquals("it's|a $HOME|`x`|", Files.readString(run.dir().resolve("logs/quoting.log")));

        // One Indexed Job for the five tasks, listed by label: the tracker never asks per Job or per pod. Each Job
        // runs one attempt per index: the three retries (fails, oom, flaky) are drover's, in new Jobs.
        List<Job> jobs = client.batch().v1().jobs().inNamespace(NAMESPACE)
                .withLabel(IndexedJobBuilder.LABEL_RUN, KubeNames.labelValue(run.id())).list().getItems();
        Job job = jobs.stream().filter(j -> j.getSpec().getCompletions() == 5).findFirst().orElseThrow();
        assertEquals(3, jobs.stream().mapToInt(j -> j.getSpec().getCompletions()).sum() - 5, jobs.toString());
        assertTrue(jobs.stream().allMatch(j -> j.getSpec().getBackoffLimitPerIndex() == 0));
        assertEquals("Indexed", job.getSpec().getCompletionMode());
        assertFalse(job.getSpec().getSuspend(), "resumed once its ConfigMap exists");
        ConfigMap table = client.configMaps().inNamespace(NAMESPACE).withName(job.getMetadata().getName()).get();
        assertEquals(job.getMetadata().getUid(), table.getMetadata().getOwnerReferences().get(0).getUid(),
                "the task table is owned by its Job, so that TTL deletion takes it too");
        // drover's reads: the two label-selected lists per cycle, and per ended pod its log (fabric8 looks the pod up
        // by name first); never a GET per Job or per pod for status.
        List<String> reads = droverRequests.stream().filter(r -> r.getMethod().equals("GET")).map(RecordedRequest::getPath)
                .toList();
        String selector = "labelSelector=drover.run-id%3D" + KubeNames.labelValue(run.id());
        assertTrue(reads.stream().allMatch(p -> p.endsWith("/jobs?" + selector) || p.endsWith("/pods?" + selector)
                || p.matches(".*/pods/[a-z0-9-]+/log\\?pretty=false") || p.contains("pods?fieldSelector=metadata.name")
                || jobs.stream().anyMatch(j -> p.endsWith("/jobs/" + j.getMetadata().getName()))), // each resume reads its Job once
                reads.toString());
        assertTrue(reads.stream().filter(p -> p.endsWith("/pods?" + selector)).count() >= 2, reads.toString());
    }

    private static String jobName(String json) {
        try {
            return JsonMapper.builder().build().readTree(json).get("metadata").get("name").asText();
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void cancelDeletesTheJobsWithBackgroundPropagation() throws Exception {
        Run run = TestPipeline.submit(runtime, """
                name: kube-cancel
                strategy: kubernetes
                image: busybox:1.36
                tasks:
                  - command: [sleep, '30']
                  - command: [sleep, '30']
                """);
        Await.until("both tasks running", Duration.ofSeconds(10), () -> run.count(TaskState.RUNNING) == 2);
        run.cancel();
        assertEquals(RunState.CANCELLED, run.finished().get(30, TimeUnit.SECONDS));
        assertEquals(2, run.count(TaskState.CANCELLED));
        assertEquals("run cancelled", report(run.dir()).get("tasks").get(0).get("reason").asText());
        assertTrue(client.batch().v1().jobs().inNamespace(NAMESPACE)
                .withLabel(IndexedJobBuilder.LABEL_RUN, KubeNames.labelValue(run.id())).list().getItems().isEmpty(),
                "the run's Jobs are deleted (KubeTrackerTest checks the propagation policy)");
        assertTrue(requests().stream().anyMatch(r -> r.getMethod().equals("DELETE") && r.getPath().contains("/jobs/")));
    }

    private Run runToEnd(String manifest, int jobs, String resources) throws Exception {
        Run run = TestPipeline.submit(runtime, RunPlan.resolve(ManifestReader.parse(manifest),
                new RunOptions("kubernetes", jobs, resources)));
        run.finished().get(60, TimeUnit.SECONDS);
        return run;
    }

    /** A shell command that lasts {@code seconds} of the kubelet's deadline seconds. */
    private static String sleep(double seconds) {
        return "[sleep, '" + seconds * SECOND / 1000 + "']";
    }

    @Test
    void timeLimitsEachTaskNotTheChunk() throws Exception {
        // 20 tasks of 2 s, 2 at a time: 20 s of work in one Job, each task well within its 5 s
        StringBuilder manifest = new StringBuilder("""
                name: kube-time-each
                image: busybox:1.36
                tasks:
                """);
        for (int i = 0; i < 20; i++) {
            manifest.append("  - {id: t").append(i).append(", command: ").append(sleep(2)).append("}\n");
        }
        long start = System.nanoTime();
        Run run = runToEnd(manifest.toString(), 2, "time=0:05");
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(RunState.SUCCEEDED, run.finished().get(), "every task within its own limit");
        assertTrue(millis > 5 * SECOND, "the chunk ran longer than one time limit, and that is fine: " + millis);
        Job job = jobsOf(run).get(0);
        assertNull(job.getSpec().getActiveDeadlineSeconds(), "no Job-level bound");
        assertEquals(5L, job.getSpec().getTemplate().getSpec().getActiveDeadlineSeconds(), "each pod's: time");
        assertEquals(2, job.getSpec().getParallelism());
    }

    @Test
    void aTaskOverItsOwnLimitFailsAloneWithKubernetesReason() throws Exception {
        String tasks = """
                tasks:
                  - {id: a, command: %1$s}
                  - {id: slow, command: [sleep, '30']}
                  - {id: b, command: %1$s}
                  - {id: c, command: %1$s}
                """.formatted(sleep(0.5));
        // --job-resources time
        Run byTime = runToEnd("name: kube-over-time\nimage: busybox:1.36\n" + tasks, 2, "time=0:05");
        // the manifest's timeout, lower than time: it wins
        Run byTimeout = runToEnd("name: kube-over-timeout\nimage: busybox:1.36\ntimeout: 3s\n" + tasks, 2,
                "time=0:05");
        for (Run run : List.of(byTime, byTimeout)) {
            assertEquals(RunState.FAILED, run.finished().get());
            JsonNode report = report(run.dir());
            JsonNode slow = task(report, "slow");
            assertEquals("FAILED", slow.get("state").asText());
            assertEquals("DeadlineExceeded", slow.get("backendState").asText(), "Kubernetes' reason");
            assertEquals(1, slow.get("attempts").asInt());
            for (String id : List.of("a", "b", "c")) {
                assertEquals("SUCCEEDED", task(report, id).get("state").asText(), id + " of " + run.id());
            }
        }
        assertEquals("DeadlineExceeded: the task ran longer than its limit of 5 s (--job-resources time)",
                task(report(byTime.dir()), "slow").get("reason").asText());
        // the manifest's timeout is reported as on every strategy
        JsonNode timedOut = task(report(byTimeout.dir()), "slow");
        assertEquals("timed out after 3s", timedOut.get("reason").asText());
        assertEquals(124, timedOut.get("exitCode").asInt());
    }

    private long journalLines(Run run, String kind) throws java.io.IOException {
        return dev.drover.run.Journal.read(run.dir()).stream().filter(l -> l[0].equals(kind)).count();
    }

    private List<Job> jobsOf(Run run) {
        return client.batch().v1().jobs().inNamespace(NAMESPACE)
                .withLabel(IndexedJobBuilder.LABEL_RUN, KubeNames.labelValue(run.id())).list().getItems();
    }

    @Test
    void anImageThatCannotBePulledFailsTheRunAfterTheGraceAndDeletesItsJob() throws Exception {
        long start = System.nanoTime();
        Run run = TestPipeline.submit(runtime, """
                name: kube-nope
                strategy: kubernetes
                image: busybox:nope
                retries: 2
                tasks: [{id: a, command: ['true']}, {id: b, command: ['true']}]
                """);
        try {
            // without the grace the run would wait for ever: half a minute shows it does not (under load too)
            run.finished().get(30, TimeUnit.SECONDS);
        } finally {
            run.cancel(); // on failure only (a finished run ignores it): its stuck Job must not outlive this test
        }
        assertEquals(RunState.FAILED, run.finished().get());
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(millis >= 1000, "not before the grace of 1 s: " + millis + " ms");
        JsonNode report = report(run.dir());
        for (String id : List.of("a", "b")) {
            JsonNode t = task(report, id);
            assertEquals("FAILED", t.get("state").asText(), t.toString());
            String reason = t.get("reason").asText();
            assertTrue(reason.matches("pod drover-kube-nope-[a-z0-9]{6}-[01]-[a-z0-9]+: image \"busybox:nope\" cannot"
                    + " be pulled: (ErrImagePull: failed to pull and unpack image \"docker.io/library/busybox:nope\""
                    + ".*|ImagePullBackOff: Back-off pulling image \"busybox:nope\") \\(waited [12] s; fix the image"
                    + " in the manifest or --job-resources image=\\)"), reason);
            assertEquals(1, t.get("attempts").asInt(), "retries: 2, yet none is spent on the same image");
        }
        assertEquals(0, journalLines(run, "retry"));
        assertEquals(2, journalLines(run, "end"), "each task ends once (the deleted Job is not reported missing)");
        assertTrue(jobsOf(run).isEmpty(), "the Job is deleted");
        String jobName = task(report, "a").get("backendId").asText().split("/")[0];
        RecordedRequest delete = requests().stream().filter(r -> r.getMethod().equals("DELETE")
                && r.getPath().endsWith("/jobs/" + jobName)).findFirst()
                .orElseThrow(() -> new AssertionError("no DELETE of Job " + jobName));
        assertTrue(delete.getUtf8Body().contains("\"propagationPolicy\":\"Background\""), delete.getUtf8Body());
        // the kubelet saw its Job deleted and its pods went: one pod per index, none retried
        assertEquals(2, kubelet.podNames.stream().filter(n -> n.startsWith(jobName + "-")).count());
        Await.until("the Job's pods gone", Duration.ofSeconds(5),
                () -> client.pods().inNamespace(NAMESPACE).withLabel("job-name", jobName).list().getItems().isEmpty());
    }

    @Test
    void aPullFailureOnOnePodOfAJobWhoseOtherPodsRunLeavesTheHealthyIndexesAlone() throws Exception {
        kubelet.badNode("drover-kube-one-bad-node-", 1);
        String tasks = """
                tasks:
                  - {id: a, command: [sh, -c, 'sleep 0.2; echo ran $DROVER_TASK_ID']}
                  - {id: b, command: [sh, -c, 'sleep 0.2; echo ran $DROVER_TASK_ID']}
                  - {id: c, command: [sh, -c, 'sleep 0.2; echo ran $DROVER_TASK_ID']}
                  - {id: d, command: [sh, -c, 'sleep 0.2; echo ran $DROVER_TASK_ID']}
                """;
        Run run = runToEnd("name: kube-one-bad-node\nimage: busybox:1.36\n" + tasks, 2, null);
        assertEquals(RunState.FAILED, run.finished().get());
        JsonNode report = report(run.dir());
        for (String id : List.of("a", "c", "d")) {
            JsonNode t = task(report, id);
            assertEquals("SUCCEEDED", t.get("state").asText(), t.toString());
            assertEquals("ran " + id + "\n", Files.readString(run.dir().resolve("logs/" + id + ".log")));
        }
        JsonNode b = task(report, "b");
        assertEquals("FAILED", b.get("state").asText());
        assertEquals(1, b.get("attempts").asInt());
        String reason = b.get("reason").asText();
        assertTrue(reason.matches("pod (drover-kube-one-bad-node-[a-z0-9]{6}-1-[a-z0-9]+): image \"busybox:1.36\""
                + " cannot be pulled: (ErrImagePull|ImagePullBackOff): .* \\(waited [12] s; other pods of the Job"
                + " started: check the pod's node\\)"), reason);
        String stuckPod = reason.substring(4, reason.indexOf(':'));
        String jobName = b.get("backendId").asText().split("/")[0];
        List<RecordedRequest> deletes = requests().stream().filter(r -> r.getMethod().equals("DELETE")).toList();
        assertEquals(List.of("/api/v1/namespaces/" + NAMESPACE + "/pods/" + stuckPod),
                deletes.stream().map(RecordedRequest::getPath).toList(), "the stuck pod alone, not the Job");
        assertEquals(List.of(jobName), jobsOf(run).stream().map(j -> j.getMetadata().getName()).toList());

        // With a retry left, the Job gives the index a new pod (on another node): the task runs there.
        kubelet.badNode("drover-kube-bad-node-retried-", 1);
        Run retried = runToEnd("name: kube-bad-node-retried\nimage: busybox:1.36\nretries: 1\n" + tasks, 2, null);
        assertEquals(RunState.SUCCEEDED, retried.finished().get());
        JsonNode again = task(report(retried.dir()), "b");
        assertEquals(2, again.get("attempts").asInt());
        assertEquals("ran b\n", Files.readString(retried.dir().resolve("logs/b.log")).lines()
                .filter(l -> !l.startsWith("--- drover")).findFirst().orElse("") + "\n");
        assertEquals(1, journalLines(retried, "retry"));
    }

    @Test
    void anInvalidImageNameIsRefusedBeforeAnyJobIsCreated() throws Exception {
        // the kubelet's InvalidImageName, found only on a pod, is now the manifest's error before anything runs
        Exception e = assertThrows(Exception.class, () -> TestPipeline.submit(runtime, """
                name: kube-invalid
                strategy: kubernetes
                image: busybox//invalid
                tasks: [{id: a, command: ['true']}]
                """));
        Throwable cause = e;
        while (!(cause instanceof dev.drover.manifest.ManifestException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        assertTrue(cause.getMessage().startsWith("image: 'busybox//invalid' is not a container image reference"),
                cause.getMessage());
        assertTrue(requests().stream().noneMatch(r -> r.getMethod().equals("POST")), "nothing was created");
    }

    @Test
    void aPodThatLeavesImagePullBackOffWithinTheGraceRuns() throws Exception {
        // The registry comes back once drover has seen the pod waiting, not after a fixed time: under load a fixed
        // pull time could end before drover's first look (nothing seen) or outlast the grace (the task failed).
        Run run = TestPipeline.submit(runtime, """
                name: kube-slow-registry
                strategy: kubernetes
                image: slow-registry.example/busybox:1.36
                tasks: [{id: a, command: [echo, pulled]}]
                """);
        dev.drover.Await.until("drover saw the pod waiting for its image", java.time.Duration.ofSeconds(30),
                () -> dev.drover.run.Journal.read(run.dir()).stream().anyMatch(l -> l[0].equals("backend")
                        && (List.of(l).contains("ImagePullBackOff") || List.of(l).contains("ErrImagePull"))));
        kubelet.registryBack();
        assertEquals(RunState.SUCCEEDED, run.finished().get(30, TimeUnit.SECONDS), report(run.dir()).toString());
        JsonNode a = task(report(run.dir()), "a");
        assertEquals(1, a.get("attempts").asInt());
        assertEquals("pulled\n", Files.readString(run.dir().resolve("logs/a.log")));
    }

    @Test
    void forbiddenCreateFailsTheTasksWithTheApiServersAnswer() throws Exception {
        server.expect().post().withPath("/apis/batch/v1/namespaces/" + NAMESPACE + "/jobs")
                .andReturn(403, new StatusBuilder().withCode(403).withReason("Forbidden").withStatus("Failure")
                        .withMessage("jobs.batch is forbidden: User \"drover\" cannot create resource \"jobs\"").build())
                .once();
        Run run = runToEnd("""
                name: kube-forbidden
                strategy: kubernetes
                image: busybox:1.36
                tasks: [{id: a, command: ['true']}, {id: b, command: ['true']}]
                """);
        assertEquals(RunState.FAILED, run.finished().get());
        JsonNode a = task(report(run.dir()), "a");
        assertEquals("FAILED", a.get("state").asText());
        assertTrue(a.get("reason").asText().contains("403 Forbidden: jobs.batch is forbidden"), a.toString());
        assertEquals(1, requests().stream().filter(r -> r.getMethod().equals("POST")).count(), "403 is not retried");
    }

    @Test
    void serverErrorOnCreateIsRetriedAndTheRunRecovers() throws Exception {
        server.expect().post().withPath("/apis/batch/v1/namespaces/" + NAMESPACE + "/jobs")
                .andReturn(500, new StatusBuilder().withCode(500).withMessage("etcdserver: leader changed").build())
                .once();
        Run run = runToEnd("""
                name: kube-500
                strategy: kubernetes
                image: busybox:1.36
                tasks: [{id: a, command: [echo, recovered]}]
                """);
        assertEquals(RunState.SUCCEEDED, run.finished().get());
        assertEquals("recovered\n", Files.readString(run.dir().resolve("logs/a.log")));
        assertEquals(2, requests().stream().filter(r -> r.getMethod().equals("POST") && r.getPath().endsWith("/jobs"))
                .count());
    }

    @Test
    void nameClashGetsANewName() throws Exception {
        server.expect().post().withPath("/apis/batch/v1/namespaces/" + NAMESPACE + "/jobs")
                .andReturn(409, new StatusBuilder().withCode(409).withReason("AlreadyExists")
                        .withMessage("jobs.batch already exists").build())
                .once();
        Run run = runToEnd("""
                name: kube-clash
                strategy: kubernetes
                image: busybox:1.36
                tasks: [{id: a, command: ['true']}]
                """);
        assertEquals(RunState.SUCCEEDED, run.finished().get());
        String backendId = task(report(run.dir()), "a").get("backendId").asText();
        List<RecordedRequest> posts = requests().stream()
                .filter(r -> r.getMethod().equals("POST") && r.getPath().endsWith("/jobs")).toList();
        assertEquals(2, posts.size(), "one 409, one retry");
        String refusedName = jobName(posts.get(0).getUtf8Body()); // answered by the expectation: body intact
        String createdName = backendId.substring(0, backendId.indexOf('/'));
        assertNotEquals(refusedName, createdName);
        assertTrue(KubeNames.isDnsLabel(createdName) && createdName.startsWith("drover-kube-clash-"), createdName);
        assertNotNull(client.batch().v1().jobs().inNamespace(NAMESPACE).withName(createdName).get());
    }
}
