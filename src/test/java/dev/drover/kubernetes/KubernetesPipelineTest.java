package dev.drover.kubernetes;

import com.fasterxml.jackson.databind.JsonNode;
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
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
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

    KubernetesMockServer server;
    KubernetesClient client;
    KubernetesClient kubeletClient;
    FakeKubelet kubelet;
    DroverRuntime runtime;

    @BeforeAll
    void start() throws Exception {
        server = KubeTestSupport.crudServer();
        client = server.createClient();
        // The kubelet has its own client, known by its User-Agent, so that drover's own requests can be told apart.
        kubeletClient = new KubernetesClientBuilder().withConfig(new ConfigBuilder(Config.empty())
                .withMasterUrl(server.url("/")).withUserAgent(FakeKubelet.USER_AGENT).build()).build();
        kubelet = new FakeKubelet(server, kubeletClient, NAMESPACE, tmp.resolve("kubelet"));
        runtime = DroverRuntime.start(Path.of("").toAbsolutePath(), Map.of(
                "drover.runs-dir", tmp.resolve("runs").toString(),
                "drover.kubernetes.master-url", server.url("/"),
                "drover.kubernetes.namespace", NAMESPACE,
                "drover.kubernetes.poll-interval", "50",
                "drover.kubernetes.api-retry-delay", "10",
                "drover.kubernetes.api-retries", "2",
                "drover.kubernetes.image-pull-grace", "1"));
    }

    @AfterAll
    void stop() throws Exception {
        runtime.close();
        kubelet.close();
        kubeletClient.close();
        client.close();
        server.destroy();
    }

    @BeforeEach
    void drainRequests() throws InterruptedException {
        while (server.takeRequest(1, TimeUnit.MILLISECONDS) != null) {
            // forget the requests of earlier tests
        }
    }

    private Run runToEnd(String manifest) throws Exception {
        Run run = runtime.submit(manifest);
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
        assertEquals(2, fails.get("attempts").asInt(), "retries: 1 → backoffLimitPerIndex 1 → two pods");
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

        // One Indexed Job for the five tasks, listed by label: the tracker never asks per Job or per pod.
        List<Job> jobs = client.batch().v1().jobs().inNamespace(NAMESPACE)
                .withLabel(IndexedJobBuilder.LABEL_RUN, KubeNames.labelValue(run.id())).list().getItems();
        assertEquals(1, jobs.size());
        Job job = jobs.get(0);
        assertEquals("Indexed", job.getSpec().getCompletionMode());
        assertEquals(5, job.getSpec().getCompletions());
        assertEquals(1, job.getSpec().getBackoffLimitPerIndex());
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
                || p.endsWith("/jobs/" + job.getMetadata().getName())), // the resume (merge patch) reads it once
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
        Run run = runtime.submit("""
                name: kube-cancel
                strategy: kubernetes
                image: busybox:1.36
                tasks:
                  - command: [sleep, '30']
                  - command: [sleep, '30']
                """);
        long deadline = System.currentTimeMillis() + 10_000;
        while (run.count(TaskState.RUNNING) < 2 && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(2, run.count(TaskState.RUNNING));
        run.cancel();
        assertEquals(RunState.CANCELLED, run.finished().get(30, TimeUnit.SECONDS));
        assertEquals(2, run.count(TaskState.CANCELLED));
        assertEquals("run cancelled", report(run.dir()).get("tasks").get(0).get("reason").asText());
        assertTrue(client.batch().v1().jobs().inNamespace(NAMESPACE)
                .withLabel(IndexedJobBuilder.LABEL_RUN, KubeNames.labelValue(run.id())).list().getItems().isEmpty(),
                "the run's Jobs are deleted (KubeTrackerTest checks the propagation policy)");
        assertTrue(requests().stream().anyMatch(r -> r.getMethod().equals("DELETE") && r.getPath().contains("/jobs/")));
    }

    @Test
    void timeLimitsEndInDeadlineExceeded() throws Exception {
        // manifest timeout → the pod's activeDeadlineSeconds: one attempt is stopped
        Run perTask = runToEnd("""
                name: kube-timeout
                strategy: kubernetes
                image: busybox:1.36
                timeout: 1s
                tasks: [{id: slow, command: [sleep, '20']}, {id: quick, command: ['true']}]
                """);
        JsonNode slow = task(report(perTask.dir()), "slow");
        assertEquals("FAILED", slow.get("state").asText());
        assertEquals("DeadlineExceeded", slow.get("backendState").asText());
        assertEquals(124, slow.get("exitCode").asInt(), "as on the other strategies");
        assertEquals("timed out after 1s", slow.get("reason").asText());
        assertEquals("SUCCEEDED", task(report(perTask.dir()), "quick").get("state").asText());
        // --job-resources time → the Job's activeDeadlineSeconds: the whole Job is stopped
        Run perJob = runtime.submit(RunPlan.resolve(ManifestReader.parse("""
                name: kube-time
                image: busybox:1.36
                tasks: [{id: a, command: [sleep, '20']}, {id: b, command: [sleep, '20']}]
                """), new RunOptions("kubernetes", 1, "time=0:01")));
        assertEquals(RunState.FAILED, perJob.finished().get(20, TimeUnit.SECONDS));
        for (String id : List.of("a", "b")) {
            JsonNode t = task(report(perJob.dir()), id);
            assertEquals("FAILED", t.get("state").asText());
            assertEquals("DeadlineExceeded", t.get("backendState").asText(), t.toString());
        }
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
        Run run = runtime.submit("""
                name: kube-nope
                strategy: kubernetes
                image: busybox:nope
                retries: 2
                tasks: [{id: a, command: ['true']}, {id: b, command: ['true']}]
                """);
        try {
            // without the grace the run would wait for ever: a few seconds show it does not
            run.finished().get(10, TimeUnit.SECONDS);
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
        long deadline = System.currentTimeMillis() + 5_000;
        while (!client.pods().inNamespace(NAMESPACE).withLabel("job-name", jobName).list().getItems().isEmpty()
                && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(client.pods().inNamespace(NAMESPACE).withLabel("job-name", jobName).list().getItems().isEmpty());
    }

    @Test
    void anInvalidImageNameFailsWithoutWaitingTheGrace() throws Exception {
        Run run = runtime.submit("""
                name: kube-invalid
                strategy: kubernetes
                image: busybox//invalid
                tasks: [{id: a, command: ['true']}]
                """);
        try {
            run.finished().get(10, TimeUnit.SECONDS);
        } finally {
            run.cancel(); // on failure only (a finished run ignores it): its stuck Job must not outlive this test
        }
        assertEquals(RunState.FAILED, run.finished().get());
        String reason = task(report(run.dir()), "a").get("reason").asText();
        assertTrue(reason.matches("pod drover-kube-invalid-[a-z0-9]{6}-0-[a-z0-9]+: image \"busybox//invalid\" is not a"
                + " valid image reference: InvalidImageName: .*invalid reference format \\(fix the image in the"
                + " manifest or --job-resources image=\\)"), reason);
        assertTrue(jobsOf(run).isEmpty(), "the Job is deleted");
    }

    @Test
    void aPodThatLeavesImagePullBackOffWithinTheGraceRuns() throws Exception {
        Run run = runToEnd("""
                name: kube-slow-registry
                strategy: kubernetes
                image: slow-registry.example/busybox:1.36
                tasks: [{id: a, command: [echo, pulled]}]
                """);
        assertEquals(RunState.SUCCEEDED, run.finished().get());
        JsonNode a = task(report(run.dir()), "a");
        assertEquals(1, a.get("attempts").asInt());
        assertEquals("pulled\n", Files.readString(run.dir().resolve("logs/a.log")));
        assertTrue(dev.drover.run.Journal.read(run.dir()).stream().anyMatch(l -> l[0].equals("backend")
                && (List.of(l).contains("ImagePullBackOff") || List.of(l).contains("ErrImagePull"))),
                "the tracker saw the pod stuck, and waited");
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
