package dev.drover.run;

import dev.drover.manifest.ManifestReader;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Journals written by the previous version (checked in under src/test/resources, every line kind, text with
 * backslashes that the first format did not escape) replay to the state that version left.
 */
class OldJournalTest {

    @TempDir
    Path tmp;

    /** A run directory holding the old journal, with the plan and manifest of a run of {@code tasks} tasks. */
    private Path runDir(String journal, String runId, String strategy, int tasks) throws Exception {
        Run template = new RunRegistry(tmp.resolve("template")).accept(RunPlan.resolve(ManifestReader.parse("""
                name: old
                command: [echo, '{item}']
                range: {start: 0, end: %d}
                """.formatted(tasks)), new RunOptions(strategy, null,
                strategy.equals("slurm") ? "mem=10M,time=00:05:00" : null)));
        Path dir = Files.createDirectories(tmp.resolve("runs").resolve(runId));
        Files.copy(template.dir().resolve(RunRegistry.PLAN_FILE), dir.resolve(RunRegistry.PLAN_FILE));
        Files.copy(template.dir().resolve("manifest.yaml"), dir.resolve("manifest.yaml"));
        try (InputStream old = getClass().getResourceAsStream(journal)) {
            Files.copy(old, dir.resolve(Journal.FILE));
        }
        return dir;
    }

    @Test
    void anUnfinishedClusterRunReplaysEveryLineKind() throws Exception {
        runDir("journal-format-1.log", "old-run", "slurm", 5);
        RunRegistry registry = new RunRegistry(tmp.resolve("runs"));
        List<Map<Integer, String>> attached = new ArrayList<>();
        registry.onRecovered(run -> attached.add(run.tasksAtBackend()));
        Run run = registry.recover("old-run");

        assertEquals(List.of(Map.of(1, "77_1", 3, "job-b/3")), attached, "the held tasks are re-attached");
        assertEquals(Map.of("a0001", "77"), run.submissions());
        assertEquals(1767225600000L, run.acceptedAt());
        assertEquals(new TaskRecord(TaskState.SUCCEEDED, 0, 1, 1767225600300L, 1767225600400L, null, "77_0",
                "COMPLETED"), run.record(0));
        assertEquals(TaskState.RUNNING, run.taskState(1));
        assertEquals(1, run.retriesUsed(2));
        assertEquals(TaskState.PENDING, run.taskState(2), "its retry was not yet submitted: it runs again");
        assertEquals(2, run.attempts(3), "the cluster runs its second attempt");
        assertEquals(1, run.retriesUsed(3));
        assertEquals(new TaskRecord(TaskState.FAILED, 2, 2, 1767225601200L, 1767225601800L,
                "exit code 2 in C:\\new\\table\\t", "job-c/4", null), run.record(4), "old text is read as written");
        assertEquals(List.of(), run.interruptedProcesses(), "task 4's process ended with it");
        List<Integer> pending = new ArrayList<>();
        run.pendingBatches().forEachRemaining(b -> b.tasks().stream().map(TaskSpec::index).forEach(pending::add));
        assertEquals(List.of(2), pending);
        assertTrue(Journal.lastEntry(run.dir()) instanceof JournalEntry.Recovered, "appended in the new format");
    }

    @Test
    void aFinishedCancelledRunComesBackAsItEnded() throws Exception {
        runDir("journal-format-1-cancelled.log", "old-cancelled", "sequential", 2);
        Run run = new RunRegistry(tmp.resolve("runs")).recover("old-cancelled");
        assertEquals(RunState.CANCELLED, run.finished().getNow(null));
        assertTrue(run.isCancelled());
        assertEquals(new TaskRecord(TaskState.CANCELLED, 143, 1, 1767225600100L, 1767225600500L, "cancelled",
                null, null), run.record(0));
        assertEquals(new TaskRecord(TaskState.CANCELLED, Integer.MIN_VALUE, 0, 0, 1767225600400L,
                "run cancelled", null, null), run.record(1));
        assertEquals(List.of(), run.interruptedProcesses());
    }
}
