package dev.drover.kubernetes;

import dev.drover.cluster.ClusterLane;
import dev.drover.cluster.GroupSpec;
import dev.drover.cluster.TestScheduler;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import dev.drover.manifest.ManifestReader;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.TaskBatch;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The backend's decisions: how tasks become Jobs, and what a 409 means. */
class KubeLaneTest {

    @TempDir
    Path tmp;

    KubernetesMockServer server;
    KubernetesClient client;
    final TestScheduler scheduler = new TestScheduler();
    KubernetesBackend backend;
    ClusterLane<KubeJob> lane;
    Run run;

    @BeforeEach
    void setUp() {
        server = KubeTestSupport.crudServer();
        KubeSettings settings = new KubeSettings(server.url("/"), null, "test", 3600, 4, 60_000, 2, 1, 120);
        KubeClients clients = new KubeClients(settings);
        client = clients.get();
        RunRegistry runs = new RunRegistry(tmp);
        backend = new KubernetesBackend(clients, settings, scheduler.get(), new SimpleMeterRegistry());
        lane = new ClusterLane<>(scheduler.context(), runs, backend, new dev.drover.cluster.Settlement(5));
        run = runs.accept(RunPlan.resolve(ManifestReader.parse("""
                name: lane
                image: busybox:1.36
                command: [echo, '{item}']
                range: {start: 0, end: 10}
                """), new RunOptions("kubernetes", null, null)));
    }

    @AfterEach
    void tearDown() throws Exception {
        lane.close();
        scheduler.close();
        server.destroy();
    }

    private static KubernetesClientException failure(int code) {
        return new KubernetesClientException("HTTP " + code, code, null);
    }

    private List<KubeJob> prepare(List<TaskSpec> tasks) {
        return backend.prepare(run, tasks, GroupSpec.of(run.plan().resources()), backend.keys(run));
    }

    private KubeJob first() {
        return prepare(List.of(run.plan().manifest().tasks().task(0))).get(0);
    }

    @Test
    void aGroupIsCutIntoJobsOfAtMostTasksPerJob() {
        List<KubeJob> jobs = prepare(IntStream.range(0, 10).mapToObj(run.plan().manifest().tasks()::task).toList());
        assertEquals(List.of(4, 4, 2), jobs.stream().map(KubeJob::size).toList());
        assertEquals(8, jobs.get(2).tasks().get(0).index(), "Job index 0 of the third Job is manifest task 8");
        assertEquals("test", jobs.get(0).namespace());
    }

    @Test
    void aBatchOfARunThatHasFinishedIsDropped() throws Exception {
        TaskBatch batch = new TaskBatch(run.id(), List.of(run.plan().manifest().tasks().task(0)));
        run.cancel(); // nothing had started: the run ends at once, its batches still on their way to the lane
        run.finished().get();
        lane.accept(batch);
        assertEquals(java.util.Map.of(), run.submissions(), "no Job is even named");
    }

    @Test
    void aClashWithOurOwnEarlierCreateAdoptsThatJob() {
        KubeJob job = first();
        client.batch().v1().jobs().inNamespace("test").resource(job.job()).create(); // the create whose answer was lost
        KubernetesBackend.AfterFailure next = backend.createFailed(run, job, failure(409), 1);
        assertNull(next.retry(), "not created again");
        assertEquals(job.name(), next.adopted().getMetadata().getName());
    }

    @Test
    void aClashWithSomeoneElsesJobRetriesUnderANewName() {
        KubeJob job = first();
        client.batch().v1().jobs().inNamespace("test").resource(new io.fabric8.kubernetes.api.model.batch.v1.JobBuilder(
                job.job()).editMetadata().addToAnnotations(IndexedJobBuilder.ANNOTATION_TOKEN, "theirs").endMetadata()
                .build()).create();
        KubernetesBackend.AfterFailure next = backend.createFailed(run, job, failure(409), 1);
        assertNull(next.adopted());
        KubeJob renamed = next.retry();
        assertNotEquals(job.name(), renamed.name());
        assertEquals(renamed.name(), renamed.spec().getTemplate().getSpec().getVolumes().get(0).getConfigMap().getName());
        assertEquals(renamed.name(), renamed.configMap().getMetadata().getName());
    }

    @Test
    void transientErrorsAreRetriedAndThenFailTheJobsTasks() {
        KubeJob job = first();
        assertSame(job, backend.createFailed(run, job, failure(503), 1).retry());
        assertSame(job, backend.createFailed(run, job, failure(503), 2).retry(), "api-retries = 2");
        KubernetesBackend.AfterFailure last = backend.createFailed(run, job, failure(503), 3);
        assertNull(last.retry());
        assertTrue(last.failure().contains("did not create Job " + job.name()) && last.failure().contains("503"),
                last.failure());
        assertTrue(KubeApi.isTransient(new KubernetesClientException("x", 429, null)));
        assertTrue(!KubeApi.isTransient(new KubernetesClientException("x", 403, null)));
    }
}
