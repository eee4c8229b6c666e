package dev.drover.slurm;

import dev.drover.manifest.ManifestReader;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.TaskEnd;
import dev.drover.run.TaskState;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How the tracker turns what SLURM says into task outcomes, without a cluster: squeue, scontrol and sacct are
 * scripts printing what a test wrote (and exiting with the status it chose), and the tracker's clock is turned by
 * hand, so that the exit grace passes without waiting.
 */
class SlurmTrackerStatesTest {

    static final Duration GRACE = Duration.ofSeconds(15);
    static final String JOB = "500";

    @TempDir
    Path tmp;

    final long[] now = {1_000_000};
    final MeterRegistry meters = new SimpleMeterRegistry();
    final Map<Integer, TaskEnd> ended = new ConcurrentHashMap<>();
    Run run;
    SlurmTracker tracker;
    ArrayJob job;

    final List<Integer> resubmitted = new java.util.ArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        for (String command : List.of("squeue", "scontrol", "sacct")) {
            Path script = tmp.resolve(command);
            Files.writeString(script, "#!/bin/sh\ncat '%1$s.out' 2>/dev/null\ncat '%1$s.err' >&2 2>/dev/null\nexit $(cat '%1$s.rc' 2>/dev/null || echo 0)\n"
                    .formatted(tmp.resolve(command)));
            assertTrue(script.toFile().setExecutable(true));
        }
        RunRegistry runs = new RunRegistry(tmp.resolve("runs"));
        runs.onTaskEnded(end -> ended.put(end.index(), end));
        run = runs.accept(RunPlan.resolve(ManifestReader.parse("""
                name: states
                strategy: slurm
                jobResources: {time: "10:00"}
                command: ['true', '{index}']
                range: {start: 0, end: 2}
                """), RunOptions.NONE));
        SlurmSettings settings = new SlurmSettings(tmp.resolve("squeue").toString(),
                tmp.resolve("scontrol").toString(), "false", tmp.resolve("sacct").toString(), 0, Duration.ofSeconds(1),
                Duration.ofSeconds(30), Duration.ZERO, GRACE, Duration.ofSeconds(1), Duration.ofSeconds(60), 10,
                Duration.ofSeconds(30));
        tracker = new SlurmTracker(run,
                dev.drover.cluster.ClusterBackend.Settler.of(run, new dev.drover.cluster.Settlement(5), resubmitted::addAll),
                settings, new SlurmCommands(settings.commandTimeout(), meters), null,
                ExitRecords.FILES, () -> now[0]);
        List<TaskSpec> tasks = List.of(run.plan().manifest().tasks().task(0), run.plan().manifest().tasks().task(1));
        job = ArrayLayout.array(run.id(), run.dir(), run.plan(), ArrayLayout.key(1),
                List.of(List.of(tasks.get(0)), List.of(tasks.get(1))), 1);
        Files.createDirectories(job.dir());
        for (int e = 0; e < 2; e++) {
            run.taskStarted(e, 1);
            run.taskBackend(e, JOB + "_" + e, "PENDING");
        }
        tracker.add(job, JOB);
    }

    private void answer(String command, String out, int rc, String err) throws IOException {
        Files.writeString(tmp.resolve(command + ".out"), out);
        Files.writeString(tmp.resolve(command + ".rc"), Integer.toString(rc));
        Files.writeString(tmp.resolve(command + ".err"), err);
    }

    private void squeue(String... lines) throws IOException {
        answer("squeue", lines.length == 0 ? "" : String.join("\n", lines) + "\n", 0, "");
    }

    private void exitFile(int task, int code) throws IOException {
        Files.writeString(job.exitFile(task), code + "\n");
    }

    private double calls(String command) {
        Counter counter = meters.find(SlurmCommands.CALLS).tag("command", command).counter();
        return counter == null ? 0 : counter.count();
    }

    @Test
    void anElementGoneWithoutExitFileIsSettledBySlurmsFinalStateAfterTheGrace() throws Exception {
        squeue(JOB + "|0|RUNNING|None", JOB + "|1|RUNNING|None");
        tracker.cycle();
        assertEquals(TaskState.RUNNING, run.taskState(0));

        exitFile(1, 0);
        squeue(); // both have left the queue; only task 1 wrote its exit code
        tracker.cycle();
        assertEquals(TaskState.SUCCEEDED, run.taskState(1));
        assertEquals(TaskState.RUNNING, run.taskState(0), "inside the grace a late exit file may still appear");
        assertEquals(0, calls("scontrol"));

        now[0] += GRACE.toMillis();
        answer("scontrol", "JobId=501 ArrayJobId=500 ArrayTaskId=0 JobState=TIMEOUT Reason=TimeLimit"
                + " ExitCode=0:15\n", 0, "");
        tracker.cycle();
        TaskEnd end = ended.get(0);
        assertEquals(TaskState.FAILED, end.state());
        assertEquals(128 + 15, end.exitCode());
        assertEquals("SLURM TIMEOUT (TimeLimit), no exit code written", end.reason());
        assertEquals(1, calls("scontrol"));
        assertEquals(0, calls("sacct"), "scontrol knew the job");
    }

    @Test
    void aTaskKilledByASignalWaitsForSlurmsReasonAndAPurgedJobIsAskedOfSacct() throws Exception {
        squeue(JOB + "|0|RUNNING|None", JOB + "|1|RUNNING|None");
        exitFile(0, 137);
        tracker.cycle();
        assertEquals(TaskState.RUNNING, run.taskState(0), "137 alone does not say who killed the task");

        exitFile(1, 3);
        squeue();
        tracker.cycle();
        assertEquals(TaskState.RUNNING, run.taskState(0), "gone, inside the grace");
        now[0] += GRACE.toMillis();
        answer("scontrol", "", 1, "slurm_load_jobs error: Invalid job id specified");
        answer("sacct", "500_0|OUT_OF_MEMORY|0:9\n500_1|FAILED|3:0\n", 0, "");
        tracker.cycle();
        TaskEnd oom = ended.get(0);
        assertEquals(TaskState.FAILED, oom.state());
        assertEquals(137, oom.exitCode());
        assertEquals("SLURM OUT_OF_MEMORY", oom.reason());
        TaskEnd failed = ended.get(1);
        assertEquals(3, failed.exitCode());
        assertNull(failed.reason(), "the task's own exit code says it all");
        assertEquals(1, calls("sacct"));
    }

    @Test
    void aFailingSqueueConcludesNothingHoweverLongItFails() throws Exception {
        answer("squeue", "", 1, "slurm_load_jobs error: Unable to contact slurm controller (connect failure)");
        for (int cycle = 0; cycle < 5; cycle++) {
            now[0] += GRACE.toMillis() * 2;
            tracker.cycle();
        }
        assertEquals(TaskState.RUNNING, run.taskState(0));
        assertEquals(TaskState.RUNNING, run.taskState(1));
        assertEquals(5, meters.find(SlurmCommands.FAILURES).tag("command", "squeue").counter().count());
        assertEquals(0, calls("scontrol"), "an unreachable controller is not asked about single jobs");

        // answers again: the elements are gone, and once the grace has passed SLURM's final state decides
        squeue();
        tracker.cycle();
        now[0] += GRACE.toMillis();
        answer("scontrol", "JobId=501 ArrayJobId=500 ArrayTaskId=0 JobState=NODE_FAIL Reason=None ExitCode=0:0\n"
                + "JobId=502 ArrayJobId=500 ArrayTaskId=1 JobState=COMPLETED Reason=None ExitCode=0:0\n", 0, "");
        exitFile(1, 0);
        tracker.cycle();
        assertNull(ended.get(0), "its node failed: not the task's fault");
        assertEquals(List.of(0), resubmitted, "run again, in a new array");
        assertEquals(1, run.reruns(0));
        assertEquals(0, run.retriesUsed(0), "no retry spent");
        assertEquals(TaskState.SUCCEEDED, ended.get(1).state(), "the exit file is the primary truth");
    }
}
