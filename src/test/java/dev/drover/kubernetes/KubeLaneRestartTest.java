package dev.drover.kubernetes;

import dev.drover.cluster.GroupSpec;
import dev.drover.Await;
import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.cluster.ClusterLane;
import dev.drover.cluster.GroupSpec;
import dev.drover.cluster.TestScheduler;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import dev.drover.manifest.ManifestReader;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Journal;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.TaskBatch;
import dev.drover.run.TaskState;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * What the lane does with a run rebuilt after a crash, for each point in a Job's creation the crash can hit. The mock
 * API server (CRUD) plays the cluster; the crash is played by copying the run directory while the first lane still
 * holds the journal, then stopping that lane.
 */
class KubeLaneRestartTest {

    static final String NS = "test";

    @TempDir
    Path tmp;

    KubernetesMockServer server;
    KubernetesClient client;
    KubeSettings settings;
    List<ClusterLane<KubeJob>> lanes = new ArrayList<>();
    final TestScheduler scheduler = new TestScheduler();

    @BeforeEach
    void setUp() {
        server = KubeTestSupport.crudServer();
        settings = new KubeSettings(server.url("/"), null, NS, 3600, 4, 50, 2, 1, 120);
        client = new KubeClients(settings).get();
        try {
            // the kubernetes-create-job route's one call, made with the test's client
            scheduler.context().addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from(KubernetesBackend.CREATE_ENDPOINT).process(exchange -> exchange.getMessage()
                            .setBody(createSuspended(exchange.getMessage().getBody(KubeJob.class))));
                }
            });
            scheduler.context().start();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        for (ClusterLane<KubeJob> lane : lanes) {
            lane.close();
        }
        scheduler.close();
        client.close();
        server.destroy();
    }

    private ClusterLane<KubeJob> lane(RunRegistry runs) {
        ClusterLane<KubeJob> lane = new ClusterLane<>(scheduler.context(), runs, new KubernetesBackend(
                new KubeClients(settings), settings, scheduler.get(), new SimpleMeterRegistry()),
                new dev.drover.cluster.Settlement(5));
        lanes.add(lane);
        return lane;
    }

    /** The run directory as a crash leaves it; the first lane stops following the cluster. */
    private void crash(Run crashed, ClusterLane<KubeJob> firstLane) throws Exception {
        Path copy = Files.createDirectories(tmp.resolve("after").resolve(crashed.id()));
        try (var files = Files.walk(crashed.dir())) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path to = copy.resolve(crashed.dir().relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(f, to);
                }
            }
        }
        firstLane.close();
    }

    /** A new drover, with its own registry and lane, finds the crashed run. */
    private List<Run> restart() {
        RunRegistry runs = new RunRegistry(tmp.resolve("after"));
        lane(runs);
        return runs.recoverUnfinished();
    }

    private Job createSuspended(KubeJob job) {
        return client.batch().v1().jobs().inNamespace(NS).resource(job.job()).create();
    }

    /** The Jobs the lane would cut from these tasks, prepared as the lane does after claiming them. */
    private static List<KubeJob> prepare(ClusterLane<KubeJob> lane, Run run, int from, int to) {
        List<TaskSpec> tasks = IntStream.range(from, to).mapToObj(run.plan().manifest().tasks()::task).toList();
        tasks.forEach(t -> run.taskStarted(t.index(), run.attempts(t.index()) + 1));
        return lane.backend().prepare(run, tasks, GroupSpec.of(run.plan().resources()), () -> null);
    }

    /** The name of the Job the lane created for a run's n-th submission. */
    private static KubeJob submitted(ClusterLane<KubeJob> lane, Run run, int from, int to) {
        lane.accept(new TaskBatch(run.id(), IntStream.range(from, to).mapToObj(run.plan().manifest().tasks()::task)
                .toList()));
        String name = List.copyOf(run.submissions().keySet()).get(run.submissions().size() - 1);
        return new KubeJob(run.id(), NS, name, null, null, null, null,
                IntStream.range(from, to).mapToObj(run.plan().manifest().tasks()::task).toList(),
                GroupSpec.of(run.plan().resources()), null);
    }

    private static List<Integer> pending(Run run) {
        List<Integer> pending = new ArrayList<>();
        run.pendingBatches().forEachRemaining(b -> b.tasks().stream().map(TaskSpec::index).forEach(pending::add));
        return pending;
    }

    private Pod pod(KubeJob job, int index, int failures, String phase, int exit) {
        return new PodBuilder().withNewMetadata().withName(job.name() + "-" + index + "-" + failures).withNamespace(NS)
                .addToLabels(IndexedJobBuilder.LABEL_RUN, KubeNames.labelValue(job.runId()))
                .addToLabels(KubeTracker.JOB_NAME_KEY, job.name())
                .addToLabels(KubeTracker.INDEX_KEY, Integer.toString(index))
                .addToAnnotations(KubeTracker.FAILURE_COUNT_KEY, Integer.toString(failures)).endMetadata()
                .withNewStatus().withPhase(phase).withContainerStatuses(new ContainerStatusBuilder()
                        .withName(IndexedJobBuilder.CONTAINER).withNewState().withNewTerminated().withExitCode(exit)
                        .endTerminated().endState().build()).endStatus().build();
    }

    private static void await(String what, java.util.function.BooleanSupplier condition) {
        Await.until(what, java.time.Duration.ofSeconds(10), condition::getAsBoolean);
    }

    @Test
    void jobsThatNeverRanAreDeletedAndTheirTasksQueuedAgainTheOthersAreFollowed() throws Exception {
        RunRegistry runs = new RunRegistry(tmp.resolve("runs"));
        ClusterLane<KubeJob> lane = lane(runs);
        Run run = runs.accept(RunPlan.resolve(ManifestReader.parse("""
                name: restart
                image: busybox:1.36
                retries: 1
                command: [echo, '{item}']
                range: {start: 0, end: 14}
                """), new RunOptions("kubernetes", null, null)));
        KubeJob running = submitted(lane, run, 0, 4); // created, committed and resumed: it runs tasks 0-3
        Pod firstTry = pod(running, 0, 0, "Failed", 1);
        client.pods().inNamespace(NS).resource(firstTry).create();
        // each Job runs one attempt per index: the retry is a new Job of its own, committed before the crash
        await("the first lane has seen task 0 fail and sent it to a new Job", () -> run.retriesUsed(0) == 1
                && !run.tasksAtBackend().getOrDefault(0, running.name()).startsWith(running.name() + "/")
                && run.submissions().values().stream().filter(id -> !id.isEmpty()).count() == 2);
        KubeJob retry = new KubeJob(run.id(), NS, run.tasksAtBackend().get(0).split("/")[0], null, null, null, null,
                List.of(run.plan().manifest().tasks().task(0)), GroupSpec.of(run.plan().resources()), null);
        // tasks 4-7: claimed, named, created; the crash came while their backend ids were being journalled
        KubeJob halfClaimed = prepare(lane, run, 4, 8).get(0);
        run.submission(halfClaimed.name(), null);
        createSuspended(halfClaimed);
        run.taskBackend(4, halfClaimed.backendId(0), "Pending");
        // tasks 8-11: created and committed; the crash came before the resume
        KubeJob neverResumed = prepare(lane, run, 8, 12).get(0);
        run.submission(neverResumed.name(), null);
        Job suspended = createSuspended(neverResumed);
        for (int i = 0; i < neverResumed.size(); i++) {
            run.taskBackend(8 + i, neverResumed.backendId(i), "Pending");
        }
        run.submission(neverResumed.name(), suspended.getMetadata().getUid());
        // tasks 12-13: claimed and named; the crash came before the create
        run.submission(prepare(lane, run, 12, 14).get(0).name(), null);

        crash(run, lane);
        // while drover is down: task 0's retry succeeds, index 1 completes (its pod is already gone)
        client.pods().inNamespace(NS).resource(pod(retry, 0, 0, "Succeeded", 0)).create();
        Job status = client.batch().v1().jobs().inNamespace(NS).withName(running.name()).get();
        client.batch().v1().jobs().inNamespace(NS).resource(new JobBuilder(status).withNewStatus()
                .withCompletedIndexes("1").endStatus().build()).updateStatus();
        Run back = restart().get(0);

        assertEquals(List.of(4, 5, 6, 7, 8, 9, 10, 11, 12, 13), pending(back), "fed again, into new Jobs");
        assertEquals(1, back.attempts(4), "the interrupted attempt stays counted");
        assertNotNull(client.batch().v1().jobs().inNamespace(NS).withName(running.name()).get());
        assertNull(client.batch().v1().jobs().inNamespace(NS).withName(halfClaimed.name()).get());
        assertNull(client.batch().v1().jobs().inNamespace(NS).withName(neverResumed.name()).get());

        await("the re-attached Job's results are read", () -> back.taskState(0) == TaskState.SUCCEEDED
                && back.taskState(1) == TaskState.SUCCEEDED);
        assertEquals(2, back.attempts(0));
        assertEquals(Set.of(2, 3), back.tasksAtBackend().keySet(), "still running in their Job");
        assertEquals(1, Journal.read(back.dir()).stream().filter(l -> l[0].equals("retry")).count(),
                "the failed first try, journalled before the crash, is not journalled again");
    }

    @Test
    void aCancelTheJournalHadDeletesTheReattachedJobs() throws Exception {
        RunRegistry runs = new RunRegistry(tmp.resolve("runs"));
        ClusterLane<KubeJob> lane = lane(runs);
        Run run = runs.accept(RunPlan.resolve(ManifestReader.parse("""
                name: restart-cancel
                image: busybox:1.36
                command: [sleep, '60']
                range: {start: 0, end: 2}
                """), new RunOptions("kubernetes", null, null)));
        submitted(lane, run, 0, 2);
        crash(run, lane);
        // the crash came right after the cancel was journalled, before its handlers deleted the Job
        Files.writeString(tmp.resolve("after").resolve(run.id()).resolve(Journal.FILE),
                "cancel\t" + System.currentTimeMillis() + "\n", StandardOpenOption.APPEND);

        assertEquals(List.of(), restart(), "cancelled at once, not resumed");
        assertEquals(List.of(), client.batch().v1().jobs().inNamespace(NS).withLabel(IndexedJobBuilder.LABEL_RUN,
                KubeNames.labelValue(run.id())).list().getItems(), "its Job is deleted");
        for (JsonNode task : KubeTestSupport.report(tmp.resolve("after").resolve(run.id())).get("tasks")) {
            assertEquals("CANCELLED", task.get("state").asText(), task.toString());
        }
    }
}
