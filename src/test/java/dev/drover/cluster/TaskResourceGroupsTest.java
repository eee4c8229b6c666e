package dev.drover.cluster;

import dev.drover.manifest.ManifestReader;
import dev.drover.manifest.JobResources;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.report.Rerun;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.TaskBatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tasks with their own resources go out to the cluster lanes in groups of one signature each. */
class TaskResourceGroupsTest {

    @TempDir
    Path tmp;

    /** Seven tasks, three signatures interleaved: the run's, mem=200M, and mem=300M with time=10. */
    private static final String THREE = """
            name: three
            strategy: slurm
            jobResources: {mem: 100M, time: "5"}
            tasks:
              - {id: a1, command: [echo, a1]}
              - {id: b1, command: [echo, b1], jobResources: "mem=200M"}
              - {id: c1, command: [echo, c1], jobResources: {mem: 300M, time: "10"}}
              - {id: a2, command: [echo, a2]}
              - {id: b2, command: [echo, b2], jobResources: {mem: 200M}}
              - {id: c2, command: [echo, c2], jobResources: "time=10,mem=300M"}
              - {id: a3, command: [echo, a3], jobResources: {mem: 100M}}
            """;

    private RunPlan plan(String text, RunOptions options) {
        return RunPlan.resolve(ManifestReader.parse(text), options);
    }

    private Run accept(RunPlan plan) {
        return new RunRegistry(tmp.resolve("runs")).accept(plan);
    }

    /** Each batch's task ids under the resources of its first task, in the order the batches came. */
    private static Map<String, List<List<String>>> batches(Run run, Iterator<TaskBatch> pending) {
        Map<String, List<List<String>>> out = new LinkedHashMap<>();
        pending.forEachRemaining(batch -> {
            JobResources first = run.taskResources(batch.tasks().get(0).index());
            batch.tasks().forEach(t -> assertEquals(first, run.taskResources(t.index()), "one signature per batch"));
            out.computeIfAbsent(first.toString(), k -> new ArrayList<>())
                    .add(batch.tasks().stream().map(t -> t.id()).toList());
        });
        return out;
    }

    @Test
    void threeSignaturesInterleavedInTheListMakeThreeGroupsEachInManifestOrder() {
        RunPlan plan = plan(THREE, RunOptions.NONE);
        assertEquals(3, plan.groups().size(), "a task giving the run's own values joins the run's group");
        Run run = accept(plan);
        assertEquals(Map.of("mem=100M,time=5", List.of(List.of("a1", "a2", "a3")),
                "mem=200M,time=5", List.of(List.of("b1", "b2")),
                "mem=300M,time=10", List.of(List.of("c1", "c2"))), batches(run, run.pendingGroups(1000)));
        assertEquals("3 resource groups", plan.describe().replaceAll(".*, (3 resource groups).*", "$1"));
    }

    @Test
    void aGroupLargerThanAnArrayIsCutIntoFullArraysOfItsOwn() {
        Run run = accept(plan(THREE, RunOptions.NONE));
        Map<String, List<List<String>>> cut = batches(run, run.pendingGroups(2));
        assertEquals(List.of(List.of("a1", "a2"), List.of("a3")), cut.get("mem=100M,time=5"));
        assertEquals(List.of(List.of("b1", "b2")), cut.get("mem=200M,time=5"));
        assertEquals(List.of(List.of("c1", "c2")), cut.get("mem=300M,time=10"));
        assertEquals(List.of("mem=100M,time=5", "mem=200M,time=5", "mem=300M,time=10"), List.copyOf(cut.keySet()),
                "a full batch goes out as soon as it is full, the partly filled ones at the end");
    }

    @Test
    void theCommandLinesResourcesAreMergedUnderEachTasksOwn() {
        RunPlan plan = plan(THREE, new RunOptions(null, null, "mem=100M,time=5,partition=cpu"));
        assertEquals(JobResources.parse("mem=300M,time=10,partition=cpu"), plan.taskResources(2));
        assertEquals(JobResources.parse("mem=100M,time=5,partition=cpu"), plan.taskResources(0));
    }

    @Test
    void localLanesKeepManifestOrderAndIgnoreTasksOwnResources() {
        String local = THREE.replace("strategy: slurm\n", "strategy: sequential\n")
                .replace("jobResources: {mem: 100M, time: \"5\"}\n", "");
        RunPlan plan = plan(local, RunOptions.NONE);
        assertTrue(plan.describe().contains("ignored"), plan.describe());
        Run run = accept(plan);
        List<String> order = new ArrayList<>();
        run.pendingBatches().forEachRemaining(b -> b.tasks().forEach(t -> order.add(t.id())));
        assertEquals(List.of("a1", "b1", "c1", "a2", "b2", "c2", "a3"), order);
    }

    @Test
    void anEscalatedTaskGrowsFromItsOwnMemoryAndGoesOutUnderItsNewSignature() {
        Run run = accept(plan(THREE.replace("tasks:", "retries: 1\ntasks:"), RunOptions.NONE));
        run.taskStarted(2, 1);
        run.taskBackend(2, "100_0", "RUNNING", "vm1");
        assertTrue(new Settlement(5).settle(run, 2, 1, new Settlement.Outcome(0, "OUT_OF_MEMORY",
                "SLURM OUT_OF_MEMORY", Settlement.Cause.of("OUT_OF_MEMORY"))));
        assertEquals(JobResources.parse("mem=600M,time=10"), run.taskResources(2), "300M doubled, its own time kept");
        assertEquals(JobResources.parse("mem=300M,time=10"), run.taskResources(5), "its group's other task unchanged");
    }

    @Test
    void aRestartedRunRebuildsEachTasksResourcesFromItsAcceptedManifest() throws Exception {
        Run before = accept(plan(THREE, RunOptions.NONE));
        before.taskStarted(0, 1);
        // what a restarted drover finds: the run directory as the crash left it
        Path copy = Files.createDirectories(tmp.resolve("after").resolve(before.id()));
        try (var files = Files.list(before.dir())) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(f)) {
                    Files.copy(f, copy.resolve(f.getFileName()));
                }
            }
        }
        Run after = new RunRegistry(tmp.resolve("after")).recoverUnfinished().get(0);
        assertEquals(before.id(), after.id());
        for (int task = 0; task < 7; task++) {
            assertEquals(before.taskResources(task), after.taskResources(task), "task " + task);
        }
        assertEquals(3, after.plan().groups().size());
    }

    @Test
    void aRerunOfSomeTasksKeepsTheirOwnResources() throws Exception {
        Run run = accept(plan(THREE, RunOptions.NONE));
        RunPlan rerun = plan(Rerun.manifest(run.dir(), Set.of(), List.of("c1", "a1", "b2")), RunOptions.NONE);
        assertEquals(List.of("c1", "a1", "b2"), List.of(rerun.manifest().tasks().id(0), rerun.manifest().tasks().id(1),
                rerun.manifest().tasks().id(2)));
        for (int task = 0; task < 3; task++) {
            assertEquals(run.taskResources(List.of(2, 0, 4).get(task)), rerun.taskResources(task), "task " + task);
        }
    }

    @Test
    void aHundredThousandTaskListWithTwoSignaturesStaysCompact() {
        StringBuilder text = new StringBuilder("{\"name\": \"big\", \"strategy\": \"slurm\", \"jobResources\":"
                + " \"mem=1G,time=10\", \"tasks\": [");
        int n = 100_000;
        for (int i = 0; i < n; i++) {
            text.append(i == 0 ? "" : ",").append("{\"command\": [\"true\"]")
                    .append(i % 2 == 1 ? ", \"jobResources\": {\"mem\": \"2G\"}}" : "}");
        }
        RunPlan plan = plan(text.append("]}").toString(), RunOptions.NONE);
        assertEquals(2, plan.manifest().tasks().resourceSets().size(), "one table entry per distinct set");
        assertEquals(2, plan.groups().size());
        assertEquals(n / 2, plan.groups().taskCount(1));
        // no object per task: every task of a group hands out its group's one resources object
        assertSame(plan.taskResources(1), plan.taskResources(n - 1));
        assertSame(plan.taskResources(0), plan.taskResources(n - 2));
        Run run = accept(plan);
        Map<String, List<List<String>>> cut = batches(run, run.pendingGroups(1001));
        assertEquals(2, cut.size());
        assertEquals(50, cut.get("mem=2G,time=10").size(), "50,000 tasks in arrays of 1001");
        assertEquals(50, cut.get("mem=1G,time=10").size());
        for (List<List<String>> arrays : cut.values()) {
            assertEquals(49 * 1001, arrays.subList(0, 49).stream().mapToInt(List::size).sum(), "full arrays");
            assertEquals(50_000 - 49 * 1001, arrays.get(49).size());
        }
    }
}
