package dev.drover.run;

import dev.drover.manifest.ManifestReader;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A run rebuilt from its directory after a crash. The crashed process is played by copying the run directory while
 * its first owner still holds the journal: the copy is what a restarted drover finds.
 */
class RecoveryTest {

    @TempDir
    Path tmp;

    private Run accepted(String strategy) {
        return new RunRegistry(tmp.resolve("before")).accept(RunPlan.resolve(ManifestReader.parse("""
                name: rec
                command: [echo, '{item}']
                range: {start: 0, end: 5}
                """), new RunOptions(strategy, null, strategy.startsWith("slurm") ? "mem=10M,time=00:05:00" : null)));
    }

    /** What a restarted drover finds: the run as its directory says, and the tasks handed to cluster lanes. */
    private Run restarted(Run crashed, List<Map<Integer, String>> attachedSeen) throws Exception {
        return restarted(crashed, attachedSeen, "");
    }

    /** As above, with {@code tail} appended to the journal: a line a crash cut short, or one an older drover wrote. */
    private Run restarted(Run crashed, List<Map<Integer, String>> attachedSeen, String tail) throws Exception {
        Path runs = Files.createDirectories(tmp.resolve("after"));
        Path copy = Files.createDirectories(runs.resolve(crashed.id()));
        try (var files = Files.list(crashed.dir())) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(f)) {
                    Files.copy(f, copy.resolve(f.getFileName()));
                }
            }
        }
        Files.writeString(copy.resolve(Journal.FILE), tail, java.nio.file.StandardOpenOption.APPEND);
        RunRegistry registry = new RunRegistry(runs);
        registry.onRecovered(run -> attachedSeen.add(run.tasksAtBackend()));
        List<Run> recovered = registry.recoverUnfinished();
        assertEquals(1, recovered.size());
        return recovered.get(0);
    }

    private static List<Integer> pendingIndices(Run run) {
        List<Integer> pending = new ArrayList<>();
        run.pendingBatches().forEachRemaining(b -> b.tasks().stream().map(TaskSpec::index).forEach(pending::add));
        return pending;
    }

    @Test
    void clusterTasksWithAJobIdAreReattachedTheOthersRunAgain() throws Exception {
        Run run = accepted("slurm");
        run.taskStarted(0, 1);
        run.taskFinished(0, 1, TaskState.SUCCEEDED, 0, null);
        run.submission("a0001", null);
        run.submission("a0001", "77");
        run.taskStarted(1, 1);
        run.taskBackend(1, "77_0", "RUNNING");
        run.taskStarted(2, 1); // submitted, but the crash came before its job id was recorded
        run.taskStarted(3, 1);
        run.taskBackend(3, "77_1", "RUNNING");
        run.attemptFailed(3, 1, 1, "exit code 1"); // its retry was not yet submitted
        run.taskStarted(4, 2, "job-b/0"); // a pod's next attempt, held by its Job from the start line on

        List<Map<Integer, String>> attached = new ArrayList<>();
        Run back = restarted(run, attached);
        assertEquals(List.of(Map.of(1, "77_0", 4, "job-b/0")), attached);
        assertEquals(Map.of("a0001", "77"), back.submissions());
        assertEquals(TaskState.RUNNING, back.taskState(1));
        assertEquals(2, back.attempts(4));
        assertEquals(List.of(2, 3), pendingIndices(back));
        assertEquals(1, back.retriesUsed(3));
    }

    /** A journal from a drover whose Kubernetes Jobs retried pods themselves: such a retry line holds the task. */
    @Test
    void aTaskItsClusterRetriesStaysHeldAcrossACrash() throws Exception {
        Run run = accepted("slurm");
        run.taskStarted(1, 1);
        run.taskBackend(1, "job-a/1", "Running");
        run.attemptFailed(1, 1, 2, "exit code 2"); // a lane that submits the retry itself
        run.taskStarted(0, 1);
        run.taskBackend(0, "job-a/0", "Running");
        String retriedByTheJob = new JournalEntry.Retry(System.currentTimeMillis(), 0, 1, 2, "Error", true).encode();

        Run back = restarted(run, new ArrayList<>(), retriedByTheJob + "\n");
        assertEquals(Map.of(0, "job-a/0"), back.tasksAtBackend());
        assertEquals(2, back.attempts(0));
        assertEquals(1, back.retriesUsed(0));
        assertEquals(List.of(1, 2, 3, 4), pendingIndices(back));
    }

    @Test
    void aHeldTaskRequeuedBeforeResumingRunsAgainAndStaysRequeuedAfterAnotherCrash() throws Exception {
        Run run = accepted("slurm");
        run.submission("job-a", null);
        run.taskStarted(0, 1);
        run.taskBackend(0, "job-a/0", "Pending");

        List<Map<Integer, String>> attached = new ArrayList<>();
        Run back = restarted(run, attached);
        assertEquals(List.of(Map.of(0, "job-a/0")), attached);
        back.requeue(0); // what a lane does with a job that never ran: it deletes the job
        assertEquals(Map.of(), back.tasksAtBackend());
        assertEquals(TaskState.PENDING, back.taskState(0));

        Path again = tmp.resolve("again");
        Files.createDirectories(again.resolve(back.id()));
        for (String file : List.of("journal.log", RunRegistry.PLAN_FILE, "manifest.yaml")) {
            Files.copy(back.dir().resolve(file), again.resolve(back.id()).resolve(file));
        }
        Run third = new RunRegistry(again).recoverUnfinished().get(0);
        assertEquals(Map.of(), third.tasksAtBackend());
        assertEquals(List.of(0, 1, 2, 3, 4), pendingIndices(third));
        assertEquals(1, third.attempts(0));
        assertEquals(List.of(0, 1, 2, 3, 4), pendingIndices(back));
        assertThrows(IllegalStateException.class, () -> back.requeue(1), "only before the run resumes");
    }

    @Test
    void aLineTheCrashCutShortIsNotTakenForAnEnd() throws Exception {
        Run run = accepted("sequential");
        run.taskStarted(0, 1);
        run.taskFinished(0, 1, TaskState.SUCCEEDED, 0, null);
        run.taskStarted(1, 1);
        // every field of task 1's end is there, but not its newline: the write did not complete
        Run back = restarted(run, new ArrayList<>(), "end\t9\t1\t1\tFAILED\t1\t");
        assertEquals(TaskState.SUCCEEDED, back.taskState(0));
        assertEquals(List.of(1, 2, 3, 4), pendingIndices(back));
        assertTrue(Journal.lastEntry(back.dir()) instanceof JournalEntry.Recovered, "the next line starts on its own");
        assertTrue(Journal.read(back.dir()).stream().noneMatch(l -> l[0].equals("end") && l[2].equals("1")),
                "the cut line is gone, so a second restart cannot read it either");
    }

    @Test
    void localTasksThatWereRunningRunAgainWithTheirAttemptCounted() throws Exception {
        Run run = accepted("multiprocessing");
        run.taskStarted(0, 1);
        run.taskBackend(0, "pid-1", null); // a local lane never records one, but if it did it would not matter
        run.taskStarted(1, 1);
        List<Map<Integer, String>> attached = new ArrayList<>();
        Run back = restarted(run, attached);
        assertEquals(List.of(Map.of()), attached);
        assertEquals(List.of(0, 1, 2, 3, 4), pendingIndices(back));
        assertEquals(1, back.attempts(1));
    }

    @Test
    void theProcessesOfAttemptsThatNeverEndedAreKnownWithTheirBoot() throws Exception {
        Run run = accepted("multiprocessing");
        run.taskStarted(0, 1);
        run.taskProcess(0, 1, 100, 5000, "boot-a");
        run.attemptFailed(0, 1, 1, null); // ended: its process is no longer a leftover
        run.taskStarted(0, 2);
        run.taskProcess(0, 2, 101, 5100, "boot-a");
        run.taskStarted(1, 1);
        run.taskProcess(1, 1, 102, 5200, "boot-a");
        run.taskFinished(1, 1, TaskState.SUCCEEDED, 0, null);
        run.taskStarted(2, 1); // started, but crashed before its process was journalled
        Run back = restarted(run, new ArrayList<>());
        assertEquals(List.of(new Run.TaskProcess(0, 101, 5100, "boot-a")), back.interruptedProcesses());
        assertEquals(List.of(0, 2, 3, 4), pendingIndices(back));
    }
}
