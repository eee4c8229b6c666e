package dev.drover.kubernetes;

import dev.drover.Await;
import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.TestPipeline;
import dev.drover.camel.DroverRuntime;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.RunState;
import dev.drover.run.TaskState;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.drover.kubernetes.KubeTestSupport.NAMESPACE;
import static dev.drover.kubernetes.KubeTestSupport.report;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * drover stopped in the middle of a kubernetes run and started again: the whole pipeline twice against one mock API
 * server, with {@link FakeKubelet} running the pods all along. The first drover stops as on SIGTERM (no cancel), and
 * its run directory is copied as it was then (a second owner in the same JVM could not take its journal lock): what
 * a restarted drover finds. The crash points of a Job's creation are in {@link KubeLaneRestartTest}.
 */
class KubernetesRestartTest {

    @TempDir
    Path tmp;

    KubernetesMockServer server;
    KubernetesClient kubeletClient;
    FakeKubelet kubelet;

    @BeforeEach
    void start() {
        server = KubeTestSupport.crudServer();
        kubeletClient = KubeTestSupport.kubeletClient(server);
        kubelet = new FakeKubelet(server, kubeletClient, NAMESPACE, tmp.resolve("kubelet"));
    }

    @AfterEach
    void stop() {
        kubelet.close();
        kubeletClient.close();
        server.destroy();
    }

    private DroverRuntime drover(Path runsDir) throws Exception {
        Map<String, String> properties = new java.util.HashMap<>(KubeTestSupport.droverProperties(server, runsDir));
        properties.put("drover.kubernetes.tasks-per-job", "2");
        return DroverRuntime.start(TestPipeline.HOME, properties);
    }

    @Test
    void aRestartReattachesToTheRunsJobsAndRunsNoTaskTwice() throws Exception {
        Path marks = Files.createDirectories(tmp.resolve("marks"));
        // 8 tasks, 2 per Job, one pod at a time per Job: at the crash some tasks have ended, some run, and some sit
        // in a created Job whose pod has not started yet.
        RunPlan plan = RunPlan.resolve(ManifestReader.parse("""
                name: kube-restart
                image: busybox:1.36
                command: [sh, -c, 'echo ran >> %s/{item}; sleep 1']
                range: {start: 0, end: 8}
                """.formatted(marks)), new RunOptions("kubernetes", 1, null));
        DroverRuntime first = drover(tmp.resolve("runs"));
        Run crashed = TestPipeline.submit(first, plan);
        Await.until("the first wave of pods ended", Duration.ofSeconds(10),
                () -> crashed.count(TaskState.SUCCEEDED) >= 2);
        first.stopGracefully(false); // SIGTERM without --cancel-on-exit: the Jobs go on without drover
        Path after = Files.createDirectories(tmp.resolve("runs-after").resolve(crashed.id()));
        try (var files = Files.walk(crashed.dir())) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path to = after.resolve(crashed.dir().relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(f, to);
                }
            }
        }
        Thread.sleep(500); // drover is down while pods end and others start

        DroverRuntime second = drover(tmp.resolve("runs-after"));
        try {
            List<Run> recovered = second.runs().recoverUnfinished();
            assertEquals(1, recovered.size());
            Run run = recovered.get(0);
            int endedBefore = run.done();
            assertTrue(endedBefore >= 2 && endedBefore < 8, "the crash came mid-run: " + endedBefore + " had ended");
            assertEquals(8 - endedBefore, run.tasksAtBackend().size(), "every open task is held by a Job");
            second.feed(run).get(10, TimeUnit.SECONDS); // what drover serve does with a recovered run
            assertEquals(RunState.SUCCEEDED, run.finished().get(15, TimeUnit.SECONDS));

            JsonNode report = report(run.dir());
            for (JsonNode task : report.get("tasks")) {
                assertEquals("SUCCEEDED", task.get("state").asText(), task.toString());
                assertEquals(1, task.get("attempts").asInt(), task.toString());
            }
            for (int item = 0; item < 8; item++) {
                assertEquals(List.of("ran"), Files.readAllLines(marks.resolve(Integer.toString(item))),
                        "task " + item + " ran once");
            }
            long creates = 0;
            for (RecordedRequest r; (r = server.takeRequest(1, TimeUnit.MILLISECONDS)) != null; ) {
                if (r.getMethod().equals("POST") && r.getPath().endsWith("/namespaces/" + NAMESPACE + "/jobs")) {
                    creates++;
                }
            }
            assertEquals(4, creates, "the four Jobs of the first drover, none after the restart");
        } finally {
            second.close();
        }
    }
}
