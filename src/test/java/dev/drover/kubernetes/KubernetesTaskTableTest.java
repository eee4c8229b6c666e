package dev.drover.kubernetes;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.TestPipeline;
import dev.drover.run.Run;
import dev.drover.run.RunState;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.drover.kubernetes.KubeTestSupport.NAMESPACE;
import static dev.drover.kubernetes.KubeTestSupport.report;
import static dev.drover.kubernetes.KubeTestSupport.task;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generators through the whole pipeline and {@link FakeKubelet}, in Jobs of 5 tasks: a range generator's first Jobs
 * rebuild each task from the template and the pod index (no task table), and its retries, a Job of scattered tasks,
 * read theirs from a table; an {@code items:} generator's Jobs read rows. Every task runs with its own argv, id and
 * attempt, and its log holds each attempt.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KubernetesTaskTableTest {

    @TempDir
    static Path tmp;

    KubeCluster cluster;

    @BeforeAll
    void start() throws Exception {
        cluster = new KubeCluster(tmp, 100, Map.of("drover.kubernetes.tasks-per-job", "5"));
    }

    @AfterAll
    void stop() throws Exception {
        cluster.close();
    }

    /** Each task prints its item, index and attempt; those whose index is a multiple of 4 fail their first attempt. */
    private static final String TASK = "command: [sh, -c, 'printf \"%s|%s|%s|%s\\n\" \"$1\" \"$2\" \"$DROVER_TASK_ID\""
            + " \"$DROVER_ATTEMPT\"; [ \"$DROVER_ATTEMPT\" -gt 1 ] || [ $(($2 % 4)) -ne 0 ] || exit 1', sh, '{item}',"
            + " '{index}']";

    private Run runToEnd(String manifest) throws Exception {
        Run run = TestPipeline.submit(cluster.runtime, manifest);
        assertEquals(RunState.SUCCEEDED, run.finished().get(60, TimeUnit.SECONDS), report(run.dir()).toString());
        return run;
    }

    private void assertEveryTask(Run run, List<String> items) throws Exception {
        JsonNode report = report(run.dir());
        for (int i = 0; i < items.size(); i++) {
            String id = dev.drover.manifest.TaskSource.paddedId(i, items.size());
            String line = items.get(i) + "|" + i + "|" + id + "|";
            String log = Files.readString(run.dir().resolve("logs/" + id + ".log"));
            if (i % 4 == 0) {
                assertEquals(2, task(report, id).get("attempts").asInt(), id);
                assertTrue(log.startsWith(line + "1\n--- drover: attempt 2") && log.endsWith(line + "2\n"), log);
            } else {
                assertEquals(line + "1\n", log, id);
            }
        }
    }

    /** The data of each ConfigMap of the run, by whether it has a task table. */
    private List<Map<String, String>> configMaps(Run run) {
        return cluster.client.configMaps().inNamespace(NAMESPACE)
                .withLabel(IndexedJobBuilder.LABEL_RUN, KubeNames.labelValue(run.id())).list().getItems().stream()
                .map(ConfigMap::getData).toList();
    }

    @Test
    void aRangeGeneratorsPodsRebuildTheirTasksAndItsRetriesReadScatteredOnes() throws Exception {
        Run run = runToEnd("""
                name: kube-range
                strategy: kubernetes
                image: busybox:1.36
                retries: 1
                %s
                range: {start: -20, end: 16, step: 3}
                """.formatted(TASK));
        assertEveryTask(run, List.of("-20", "-17", "-14", "-11", "-8", "-5", "-2", "1", "4", "7", "10", "13"));
        List<Job> jobs = cluster.client.batch().v1().jobs().inNamespace(NAMESPACE)
                .withLabel(IndexedJobBuilder.LABEL_RUN, KubeNames.labelValue(run.id())).list().getItems();
        assertTrue(jobs.size() >= 4, "three Jobs of at most 5, then the retries: " + jobs.size());
        // the first submission: three Jobs whose pods compute their task from the Job's first index
        List<String> computed = configMaps(run).stream().filter(d -> !d.containsKey(PodTasks.TABLE))
                .map(d -> d.get(PodTasks.SCRIPT).lines().reduce((a, b) -> b).orElseThrow()).sorted().toList();
        assertEquals(List.of("g $((0 + i)) 0", "g $((10 + i)) 0", "g $((5 + i)) 0"),
                computed.stream().filter(line -> line.endsWith(" 0")).toList());
        // the retries of tasks 0, 4 and 8: rows of a table when they go together, computed when one goes alone
        assertTrue(configMaps(run).stream().filter(d -> d.containsKey(PodTasks.TABLE))
                .allMatch(d -> d.get(PodTasks.TABLE).matches("(g (0|4|8) 1\n)+")), configMaps(run).toString());
        assertTrue(computed.stream().filter(line -> line.endsWith(" 1"))
                .allMatch(line -> line.matches("g \\$\\(\\((0|4|8) \\+ i\\)\\) 1")), computed.toString());
    }

    @Test
    void anItemsGeneratorsPodsReadTheirRows() throws Exception {
        List<String> items = List.of("a b", "it's", "$HOME", "", "-e", "日本", "`x`", "\\", "*");
        Run run = runToEnd("""
                name: kube-items
                strategy: kubernetes
                image: busybox:1.36
                retries: 1
                %s
                items: %s
                """.formatted(TASK, new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(items)));
        assertEveryTask(run, items);
        assertTrue(configMaps(run).stream().allMatch(d -> d.containsKey(PodTasks.TABLE)));
    }
}
