package dev.drover.kubernetes;

import dev.drover.cluster.ClusterBackend;
import dev.drover.cluster.Settlement;
import dev.drover.cluster.TestScheduler;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.RunState;
import dev.drover.run.TaskState;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodListBuilder;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobListBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.drover.kubernetes.KubeTestSupport.report;
import static dev.drover.kubernetes.KubeTestSupport.task;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tracker against the mock server in expectation mode: exact API answers, exact requests. */
class KubeTrackerTest {

    static final String NS = "test";

    @TempDir
    Path tmp;

    KubernetesMockServer server;
    KubernetesClient client;
    final TestScheduler scheduler = new TestScheduler();
    KubeTracker tracker;
    Run run;
    KubeJob job;
    KubeWatches.RunWatch watch;
    /** The tasks the tracker handed back to run again (the lane would submit them in a new Job). */
    final List<Integer> retried = new java.util.concurrent.CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() {
        server = new KubernetesMockServer(false);
        server.init();
        // drover's own client configuration; a poll interval of a minute: the tests drive the cycles themselves
        KubeSettings settings = new KubeSettings(server.url("/"), null, NS, 3600, 1000, 60_000, 1, 5, 120);
        KubeClients clients = new KubeClients(settings);
        client = clients.get();
        tracker = new KubeTracker(clients, settings, scheduler.get(), new SimpleMeterRegistry());
        RunPlan plan = RunPlan.resolve(ManifestReader.parse("""
                name: tracked
                strategy: kubernetes
                image: busybox:1.36
                tasks:
                  - {id: ok, command: ['true']}
                  - {id: oom, command: ['true']}
                  - {id: ttl-gone, command: ['true']}
                  - {id: late, command: ['true']}
                """), RunOptions.NONE);
        run = new RunRegistry(tmp).accept(plan);
        job = new IndexedJobBuilder(plan, run.id(), NS, 3600, true).build(
                List.of(plan.manifest().tasks().task(0), plan.manifest().tasks().task(1),
                        plan.manifest().tasks().task(2), plan.manifest().tasks().task(3)));
        watch = tracker.watch(run, NS, ClusterBackend.Settler.of(run, new Settlement(5), retried::addAll));
    }

    @AfterEach
    void tearDown() {
        tracker.close();
        scheduler.close();
        client.close();
        server.destroy();
    }

    private String selector() {
        return "?labelSelector=drover.run-id%3D" + KubeNames.labelValue(run.id());
    }

    private Pod pod(String name, int index, String phase, int exit, String reason) {
        return new PodBuilder().withNewMetadata().withName(name).withNamespace(NS)
                .addToLabels(IndexedJobBuilder.LABEL_RUN, KubeNames.labelValue(run.id()))
                .addToLabels(KubeTracker.JOB_NAME_KEY, job.name())
                .addToLabels(KubeTracker.INDEX_KEY, Integer.toString(index))
                .withCreationTimestamp("2026-11-25T12:00:0" + index + "Z").endMetadata()
                .withNewStatus().withPhase(phase).withContainerStatuses(new ContainerStatusBuilder()
                        .withName(IndexedJobBuilder.CONTAINER).withNewState().withNewTerminated().withExitCode(exit)
                        .withReason(reason).endTerminated().endState().build()).endStatus().build();
    }

    private List<RecordedRequest> requests() throws InterruptedException {
        List<RecordedRequest> all = new ArrayList<>();
        for (RecordedRequest r; (r = server.takeRequest(1, TimeUnit.MILLISECONDS)) != null; ) {
            all.add(r);
        }
        return all;
    }

    @Test
    void oneCycleSettlesIndexesFromPodsAndJobStatusAndSavesLogs() throws Exception {
        Pod ok = pod(job.name() + "-0-aaaaa", 0, "Succeeded", 0, "Completed");
        Pod oom = pod(job.name() + "-1-bbbbb", 1, "Failed", 137, "OOMKilled");
        Job status = new JobBuilder(job.job()).withNewStatus().withCompletedIndexes("0,2").withFailedIndexes("1")
                .addNewCondition().withType("Failed").withStatus("True").withReason("DeadlineExceeded")
                .withMessage("Job was active longer than specified deadline").endCondition().endStatus().build();
        server.expect().get().withPath("/apis/batch/v1/namespaces/" + NS + "/jobs" + selector())
                .andReturn(200, new JobListBuilder().withMetadata(new io.fabric8.kubernetes.api.model.ListMeta()).withItems(status).build()).once();
        server.expect().get().withPath("/api/v1/namespaces/" + NS + "/pods" + selector())
                .andReturn(200, new PodListBuilder().withMetadata(new io.fabric8.kubernetes.api.model.ListMeta()).withItems(ok, oom).build()).once();
        for (Pod pod : List.of(ok, oom)) {
            server.expect().get().withPath("/api/v1/namespaces/" + NS + "/pods?fieldSelector=metadata.name%3D"
                    + pod.getMetadata().getName()).andReturn(200, new PodListBuilder().withMetadata(new io.fabric8.kubernetes.api.model.ListMeta()).withItems(pod).build()).always();
            server.expect().get().withPath("/api/v1/namespaces/" + NS + "/pods/" + pod.getMetadata().getName())
                    .andReturn(200, pod).always();
        }
        server.expect().get().withPath("/api/v1/namespaces/" + NS + "/pods/" + ok.getMetadata().getName()
                + "/log?pretty=false").andReturn(200, "all good\n").once();
        server.expect().get().withPath("/api/v1/namespaces/" + NS + "/pods/" + oom.getMetadata().getName()
                + "/log?pretty=false").andReturn(500, "node unreachable").always();

        tracker.track(watch, job);
        synchronized (watch) {
            tracker.poll(watch);
        }

        assertEquals(RunState.FAILED, run.finished().get(30, TimeUnit.SECONDS));
        JsonNode report = report(run.dir());
        JsonNode okTask = task(report, "ok");
        assertEquals("SUCCEEDED", okTask.get("state").asText());
        assertEquals(job.name() + "/0", okTask.get("backendId").asText());
        assertEquals("Completed", okTask.get("backendState").asText());
        assertEquals("all good\n", Files.readString(run.dir().resolve("logs/ok.log")));

        JsonNode oomTask = task(report, "oom");
        assertEquals("FAILED", oomTask.get("state").asText());
        assertEquals(137, oomTask.get("exitCode").asInt());
        assertEquals("OOMKilled", oomTask.get("backendState").asText());
        assertTrue(Files.readString(run.dir().resolve("logs/oom.log")).startsWith("drover: cannot fetch the log of pod"));

        JsonNode gone = task(report, "ttl-gone");
        assertEquals("SUCCEEDED", gone.get("state").asText(), "completedIndexes settles an index whose pod is gone");

        JsonNode late = task(report, "late");
        assertEquals("FAILED", late.get("state").asText());
        assertEquals(KubeTracker.NOT_STARTED, late.get("backendState").asText(), "not said to have run too long");
        assertEquals("never started: Job " + job.name() + " failed (DeadlineExceeded: Job was active longer than"
                + " specified deadline) before a pod of this task was seen running", late.get("reason").asText());

        List<String> lists = requests().stream().map(RecordedRequest::getPath).filter(p -> p.contains("labelSelector"))
                .toList();
        assertEquals(List.of("/apis/batch/v1/namespaces/" + NS + "/jobs" + selector(),
                "/api/v1/namespaces/" + NS + "/pods" + selector()), lists, "one Job list and one Pod list per cycle");
    }

    @Test
    void anIndexTheJobCountsAsFailedIsNotSaidNeverToHaveStarted() throws Exception {
        Job status = new JobBuilder(job.job()).withNewStatus().withCompletedIndexes("0,1").withFailedIndexes("2")
                .addNewCondition().withType("Failed").withStatus("True").withReason("FailedIndexes")
                .withMessage("Job has failed indexes").endCondition().endStatus().build();
        claim();
        tracker.track(watch, job);
        answer(status);
        tracker.pollOnce(watch);
        assertEquals(RunState.FAILED, run.finished().get(5, TimeUnit.SECONDS));
        JsonNode report = report(run.dir());
        JsonNode ranUnseen = task(report, "ttl-gone");
        assertEquals("Failed", ranUnseen.get("backendState").asText());
        assertEquals("Job " + job.name() + " counts the task as failed (FailedIndexes: Job has failed indexes); its"
                + " pods are gone, so their exit code is unknown", ranUnseen.get("reason").asText());
        assertEquals(KubeTracker.NOT_STARTED, task(report, "late").get("backendState").asText());
        assertEquals(1, task(report, "late").get("attempts").asInt(), "the claimed attempt, not a new one");
    }

    @Test
    void aPodSeenRunningAndDeletedBeforeItEndedIsRerunAwayFromItsNodeWithoutSpendingARetry() throws Exception {
        claim();
        tracker.track(watch, job);
        Pod running = new PodBuilder(pod(job.name() + "-0-aaaaa", 0, "Running", 0, null)).editSpec()
                .withNodeName("node-x").endSpec().editStatus().withContainerStatuses(List.of()).endStatus().build();
        answer(new JobBuilder(job.job()).build(), running);
        tracker.pollOnce(watch);
        assertEquals(List.of(), retried, "running: nothing to decide yet");
        // the node went away: the pod is gone unseen ended, and the Job counts index 0 as failed
        answer(new JobBuilder(job.job()).withNewStatus().withFailedIndexes("0").endStatus().build());
        tracker.pollOnce(watch);
        assertEquals(List.of(0), retried, "run again, in a new Job");
        assertEquals(1, run.reruns(0));
        assertEquals(0, run.retriesUsed(0), "no retry spent");
        assertEquals("node-x", run.failedNode(0), "the next attempt avoids it");
        assertEquals(TaskState.RUNNING, run.taskState(1), "the Job's other tasks go on");
    }

    @Test
    void cancelDeletesEachJobWithBackgroundPropagationAndCancelsRunningTasks() throws Exception {
        String jobPath = "/apis/batch/v1/namespaces/" + NS + "/jobs/" + job.name();
        server.expect().get().withPath("/apis/batch/v1/namespaces/" + NS + "/jobs" + selector())
                .andReturn(200, new JobListBuilder().withMetadata(new io.fabric8.kubernetes.api.model.ListMeta()).withItems(job.job()).build()).always();
        server.expect().delete().withPath(jobPath)
                .andReturn(200, new StatusBuilder().withStatus("Success").build()).once();
        tracker.track(watch, job);
        run.onCancel(() -> tracker.cancel(watch)); // what the cluster lane registers for the run
        run.taskStarted(0, 1);

        run.cancel();

        assertEquals(RunState.CANCELLED, run.finished().get(30, TimeUnit.SECONDS));
        assertEquals(4, run.count(TaskState.CANCELLED));
        RecordedRequest delete = requests().stream().filter(r -> r.getMethod().equals("DELETE")).findFirst()
                .orElseThrow(() -> new AssertionError("no DELETE"));
        assertEquals(jobPath, delete.getPath());
        assertTrue(delete.getUtf8Body().contains("\"propagationPolicy\":\"Background\""), delete.getUtf8Body());
    }

    @Test
    void aStatusListRefusedForGoodFailsTheTasksInsteadOfWaitingForever() throws Exception {
        server.expect().get().withPath("/apis/batch/v1/namespaces/" + NS + "/jobs" + selector())
                .andReturn(403, new StatusBuilder().withCode(403).withReason("Forbidden")
                        .withMessage("jobs.batch is forbidden: cannot list").build()).always();
        tracker.track(watch, job);
        
        for (int i = 1; i < KubeTracker.REFUSED_CYCLES; i++) {
            tracker.pollOnce(watch);
        }
        assertEquals(0, run.count(TaskState.FAILED), "not yet: a refusal may be a moment's RBAC change");
        tracker.pollOnce(watch);
        assertEquals(RunState.FAILED, run.finished().get(30, TimeUnit.SECONDS));
        assertTrue(task(report(run.dir()), "late").get("reason").asText()
                .startsWith("drover cannot follow the run's Jobs: 403 Forbidden: jobs.batch is forbidden"));
    }

    @Test
    void aPodThatCannotPullItsImageShowsWhy() throws Exception {
        Pod waiting = new PodBuilder(pod(job.name() + "-0-ccccc", 0, "Pending", 0, null)).editStatus()
                .withContainerStatuses(new ContainerStatusBuilder().withName(IndexedJobBuilder.CONTAINER)
                        .withNewState().withNewWaiting().withReason("ImagePullBackOff").endWaiting().endState().build())
                .endStatus().build();
        server.expect().get().withPath("/apis/batch/v1/namespaces/" + NS + "/jobs" + selector())
                .andReturn(200, new JobListBuilder().withMetadata(new io.fabric8.kubernetes.api.model.ListMeta())
                        .withItems(job.job()).build()).always();
        server.expect().get().withPath("/api/v1/namespaces/" + NS + "/pods" + selector())
                .andReturn(200, new PodListBuilder().withMetadata(new io.fabric8.kubernetes.api.model.ListMeta())
                        .withItems(waiting).build()).always();
        tracker.track(watch, job);
        tracker.pollOnce(watch);
        tracker.pollOnce(watch);
        List<String[]> backend = dev.drover.run.Journal.read(run.dir()).stream().filter(l -> l[0].equals("backend"))
                .toList();
        assertEquals(1, backend.size(), "journalled once, not every cycle");
        assertEquals(job.name() + "/0", backend.get(0)[3]);
        assertEquals("ImagePullBackOff", backend.get(0)[4]);
        assertEquals(TaskState.PENDING, run.taskState(0), "not started: Kubernetes keeps pulling");
    }

    private Pod stuck(String name, int index, String reason, String message) {
        return new PodBuilder(pod(name, index, "Pending", 0, null)).editMetadata()
                .addToAnnotations(KubeTracker.FAILURE_COUNT_KEY, "0").endMetadata()
                .withNewSpec().addNewContainer().withName(IndexedJobBuilder.CONTAINER).withImage("busybox:nope")
                .endContainer().endSpec()
                .editStatus().withContainerStatuses(new ContainerStatusBuilder().withName(IndexedJobBuilder.CONTAINER)
                        .withNewState().withNewWaiting().withReason(reason).withMessage(message).endWaiting().endState()
                        .build())
                .endStatus().build();
    }

    private void answer(Job jobStatus, Pod... pods) {
        server.expect().get().withPath("/apis/batch/v1/namespaces/" + NS + "/jobs" + selector())
                .andReturn(200, new JobListBuilder().withMetadata(new io.fabric8.kubernetes.api.model.ListMeta())
                        .withItems(jobStatus == null ? List.of() : List.of(jobStatus)).build()).once();
        server.expect().get().withPath("/api/v1/namespaces/" + NS + "/pods" + selector())
                .andReturn(200, new PodListBuilder().withMetadata(new io.fabric8.kubernetes.api.model.ListMeta())
                        .withItems(pods).build()).once();
    }

    /** The lane's claim: every task of the Job starts its first attempt, held by the Job. */
    private void claim() {
        for (int i = 0; i < job.size(); i++) {
            run.taskStarted(i, 1, job.backendId(i));
        }
    }

    private long journalLines(String kind) throws Exception {
        return dev.drover.run.Journal.read(run.dir()).stream().filter(l -> l[0].equals(kind)).count();
    }

    @Test
    void aPodStuckPullingItsImagePastTheGraceInAJobNoPodOfWhichRanDeletesTheJobAndFailsItsTasksWithoutRetries()
            throws Exception {
        long[] now = {0};
        tracker.nanoClock = () -> now[0];
        String jobPath = "/apis/batch/v1/namespaces/" + NS + "/jobs/" + job.name();
        server.expect().delete().withPath(jobPath)
                .andReturn(200, new StatusBuilder().withStatus("Success").build()).once();
        String pull = "failed to pull and unpack image \"docker.io/library/busybox:nope\": not found";
        String backOff = "Back-off pulling image \"busybox:nope\"";
        claim();
        tracker.track(watch, job);
        
        // t = 0: indexes 0 and 1 stuck, 2 and 3 waiting for a slot
        answer(job.job(), stuck(job.name() + "-0-aaaaa", 0, "ErrImagePull", pull),
                stuck(job.name() + "-1-bbbbb", 1, "ErrImagePull", pull));
        tracker.pollOnce(watch);
        // ErrImagePull and ImagePullBackOff alternate: still the same pod stuck in a row
        now[0] = TimeUnit.SECONDS.toNanos(60);
        answer(job.job(), stuck(job.name() + "-1-bbbbb", 1, "ImagePullBackOff", backOff));
        tracker.pollOnce(watch);
        now[0] = TimeUnit.SECONDS.toNanos(119);
        answer(job.job(), stuck(job.name() + "-1-bbbbb", 1, "ErrImagePull", pull));
        tracker.pollOnce(watch);
        assertEquals(4, run.count(TaskState.RUNNING), "within the grace: a registry may come back");
        assertTrue(requests().stream().noneMatch(r -> r.getMethod().equals("DELETE")));

        now[0] = TimeUnit.SECONDS.toNanos(121);
        answer(job.job(), stuck(job.name() + "-1-bbbbb", 1, "ImagePullBackOff", backOff));
        tracker.pollOnce(watch);

        assertEquals(4, run.count(TaskState.FAILED), "past the grace: given up on in this very cycle");
        assertEquals(RunState.FAILED, run.finished().get(5, TimeUnit.SECONDS));
        RecordedRequest delete = requests().stream().filter(r -> r.getMethod().equals("DELETE")).findFirst()
                .orElseThrow(() -> new AssertionError("the Job is not deleted"));
        assertEquals(jobPath, delete.getPath());
        assertTrue(delete.getUtf8Body().contains("\"propagationPolicy\":\"Background\""), delete.getUtf8Body());
        JsonNode report = report(run.dir());
        String expected = "pod " + job.name() + "-1-bbbbb: image \"busybox:nope\" cannot be pulled: ImagePullBackOff: "
                + backOff + " (waited 121 s; fix the image in the manifest or --job-resources image=)";
        for (String id : List.of("ok", "oom", "ttl-gone", "late")) {
            JsonNode t = task(report, id);
            assertEquals("FAILED", t.get("state").asText(), t.toString());
            assertEquals(expected, t.get("reason").asText());
            assertEquals(1, t.get("attempts").asInt(), "no retry is spent on an image that cannot be pulled");
        }
        assertEquals("ImagePullBackOff", task(report, "oom").get("backendState").asText());
        assertEquals(0, journalLines("retry"));
        assertEquals(4, journalLines("end"));

        // The Job drover deleted is gone from the next lists: not reported again as deleted by someone else.
        for (int i = 0; i <= KubeTracker.MISSING_CYCLES; i++) {
            answer(null);
            tracker.pollOnce(watch);
        }
        assertEquals(4, journalLines("end"));
        assertEquals(expected, task(report(run.dir()), "late").get("reason").asText());
    }

    @Test
    void aPodStuckPastTheGraceInAJobWhosePodsRunFailsItsTaskAloneAndOnlyItsPodIsDeleted() throws Exception {
        long[] now = {0};
        tracker.nanoClock = () -> now[0];
        String stuckName = job.name() + "-1-bbbbb";
        String podPath = "/api/v1/namespaces/" + NS + "/pods/" + stuckName;
        server.expect().delete().withPath(podPath)
                .andReturn(200, new StatusBuilder().withStatus("Success").build()).once();
        String pull = "failed to pull and unpack image \"docker.io/library/busybox:nope\": not found";
        Pod first = pod(job.name() + "-0-aaaaa", 0, "Succeeded", 0, "Completed");
        server.expect().get().withPath("/api/v1/namespaces/" + NS + "/pods/" + first.getMetadata().getName()
                + "/log?pretty=false").andReturn(200, "done\n").always();
        Pod running = pod(job.name() + "-2-ccccc", 2, "Running", 0, null);
        running.getStatus().setContainerStatuses(List.of());
        claim();
        tracker.track(watch, job);
        
        answer(job.job(), first, stuck(stuckName, 1, "ErrImagePull", pull), running);
        tracker.pollOnce(watch);
        now[0] = TimeUnit.SECONDS.toNanos(121);
        Pod gone = stuck(stuckName, 1, "ErrImagePull", pull);
        answer(job.job(), stuck(stuckName, 1, "ErrImagePull", pull), running);
        tracker.pollOnce(watch);

        List<RecordedRequest> deletes = requests().stream().filter(r -> r.getMethod().equals("DELETE")).toList();
        assertEquals(List.of(podPath), deletes.stream().map(RecordedRequest::getPath).toList(),
                "the stuck pod alone is deleted, not the Job");
        assertEquals(TaskState.SUCCEEDED, run.taskState(0));
        assertEquals(TaskState.FAILED, run.taskState(1));
        assertEquals(TaskState.RUNNING, run.taskState(2), "a healthy index is left alone");
        assertEquals(TaskState.RUNNING, run.taskState(3));
        assertEquals("done\n", Files.readString(run.dir().resolve("logs/ok.log")));
        assertTrue(run.tasksAtBackend().containsKey(3), "an index not started yet stays the Job's");

        // the deleted pod, seen again as Failed while it goes, is not counted a second time; the others end
        gone.getStatus().setPhase("Failed");
        answer(job.job(), gone, pod(job.name() + "-2-ccccc", 2, "Succeeded", 0, "Completed"),
                pod(job.name() + "-3-ddddd", 3, "Succeeded", 0, "Completed"));
        tracker.pollOnce(watch);
        assertEquals(RunState.FAILED, run.finished().get(5, TimeUnit.SECONDS));
        assertEquals(4, journalLines("end"), "each task ended once");
        assertEquals(0, journalLines("retry"), "retries: 0: the Job fails the index, drover does not retry it");
        JsonNode report = report(run.dir());
        JsonNode failed = task(report, "oom");
        assertEquals(1, failed.get("attempts").asInt());
        assertTrue(failed.get("reason").asText().startsWith("pod " + stuckName + ": image \"busybox:nope\" cannot be"
                + " pulled: ErrImagePull: "), failed.toString());
        assertEquals("ErrImagePull", failed.get("backendState").asText());
        for (String id : List.of("ok", "ttl-gone", "late")) {
            assertEquals("SUCCEEDED", task(report, id).get("state").asText(), id);
        }
    }

    @Test
    void aPodThatStartsWithinTheGraceRestartsTheCount() throws Exception {
        long[] now = {0};
        tracker.nanoClock = () -> now[0];
        claim();
        tracker.track(watch, job);
        
        String name = job.name() + "-0-aaaaa";
        answer(job.job(), stuck(name, 0, "ImagePullBackOff", "Back-off"));
        tracker.pollOnce(watch);
        now[0] = TimeUnit.SECONDS.toNanos(100);
        answer(job.job(), pod(name, 0, "Running", 0, null));
        tracker.pollOnce(watch);
        // the same pod stuck again (its container restarted): a new grace from here
        now[0] = TimeUnit.SECONDS.toNanos(110);
        answer(job.job(), stuck(name, 0, "ErrImagePull", "not found"));
        tracker.pollOnce(watch);
        now[0] = TimeUnit.SECONDS.toNanos(200);
        answer(job.job(), stuck(name, 0, "ImagePullBackOff", "Back-off"));
        tracker.pollOnce(watch);
        assertEquals(0, run.count(TaskState.FAILED), "stuck 90 s in a row, not 200");
        assertTrue(requests().stream().noneMatch(r -> r.getMethod().equals("DELETE")));
    }

    @Test
    void anInvalidImageNameFailsAtOnce() throws Exception {
        String jobPath = "/apis/batch/v1/namespaces/" + NS + "/jobs/" + job.name();
        server.expect().delete().withPath(jobPath)
                .andReturn(200, new StatusBuilder().withStatus("Success").build()).once();
        claim();
        tracker.track(watch, job);
        answer(job.job(), stuck(job.name() + "-0-aaaaa", 0, "InvalidImageName",
                "couldn't parse image reference \"busybox:nope\": invalid reference format"));
        tracker.pollOnce(watch); // the grace is 120 s: one cycle must be enough

        assertEquals(4, run.count(TaskState.FAILED));
        assertEquals(RunState.FAILED, run.finished().get(5, TimeUnit.SECONDS));
        assertEquals("pod " + job.name() + "-0-aaaaa: image \"busybox:nope\" is not a valid image reference:"
                + " InvalidImageName: couldn't parse image reference \"busybox:nope\": invalid reference format (fix"
                + " the image in the manifest or --job-resources image=)", task(report(run.dir()), "ok").get("reason")
                .asText());
        assertTrue(requests().stream().anyMatch(r -> r.getMethod().equals("DELETE") && r.getPath().equals(jobPath)));
    }

    @Test
    void aPodOverItsDeadlineIsSaidToHaveRunTooLongOnlyIfItsContainerRan() {
        PodDeadline limit = new PodDeadline(5, PodDeadline.TIME, null);
        Pod ran = pod("p-0-a", 0, "Failed", 137, "Error");
        ran.getStatus().setReason("DeadlineExceeded");
        ran.getStatus().setMessage("Pod was active on the node longer than the specified deadline");
        PodOutcome overran = PodOutcome.of(ran, limit);
        assertEquals("DeadlineExceeded", overran.backendState());
        assertEquals("DeadlineExceeded: the task ran longer than its limit of 5 s (--job-resources time)",
                overran.reason());
        Pod neverRan = stuck("p-0-b", 0, "ImagePullBackOff", "Back-off pulling image");
        neverRan.getStatus().setPhase("Failed");
        neverRan.getStatus().setReason("DeadlineExceeded");
        PodOutcome notStarted = PodOutcome.of(neverRan, limit);
        assertEquals("DeadlineExceeded", notStarted.backendState());
        assertEquals("DeadlineExceeded: the pod did not start its container within its limit of 5 s"
                + " (--job-resources time)", notStarted.reason());
    }

    @Test
    void stuckReasonsSayWhatToFix() {
        assertEquals("pod p: the container (image \"i\") cannot be configured: CreateContainerConfigError: secret"
                + " \"s\" not found (waited 120 s; check the Secrets and ConfigMaps the pod refers to)",
                StuckPods.stuckReason("p", "i", "CreateContainerConfigError", "secret \"s\" not found", 120,
                        false));
        assertEquals("pod p: image \"i\" cannot be pulled: ErrImageNeverPull (waited 5 s; fix the image in the"
                + " manifest or --job-resources image=)", StuckPods.stuckReason("p", "i", "ErrImageNeverPull", null, 5,
                false));
        assertEquals("pod p: image \"i\" cannot be pulled: ErrImagePull (waited 5 s; other pods of the Job started:"
                + " check the pod's node)", StuckPods.stuckReason("p", "i", "ErrImagePull", null, 5, true));
    }

    @Test
    void kubernetesIndexListsAreExpanded() {
        assertEquals(java.util.Set.of(0, 1, 2, 5, 7, 8), KubeStatus.indexes("0-2,5,7-8"));
        assertTrue(KubeStatus.indexes(null).isEmpty());
    }
}
