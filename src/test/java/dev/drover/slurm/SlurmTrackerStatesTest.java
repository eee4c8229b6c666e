package dev.drover.slurm;

import dev.drover.manifest.ManifestReader;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.TaskEnd;
import dev.drover.run.TaskState;
import dev.drover.run.TaskUsage;
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
    SlurmSettings settings;

    @BeforeEach
    void setUp() throws IOException {
        for (String command : List.of("squeue", "scontrol", "sacct")) {
            Path script = tmp.resolve(command);
            Files.writeString(script, "#!/bin/sh\necho \"$@\" >>'%1$s.args'\ncat '%1$s.out' 2>/dev/null\ncat '%1$s.err' >&2 2>/dev/null\nexit $(cat '%1$s.rc' 2>/dev/null || echo 0)\n"
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
        settings = new SlurmSettings(tmp.resolve("squeue").toString(),
                tmp.resolve("scontrol").toString(), "false", tmp.resolve("sacct").toString(), 0, Duration.ofSeconds(1),
                Duration.ofSeconds(30), Duration.ZERO, GRACE, Duration.ofSeconds(1), Duration.ofSeconds(60), 10,
                Duration.ofSeconds(30), "auto");
        tracker = tracker(false);
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

    /** A tracker of the run; {@code usage}: asking sacct for the usage of ended arrays, as drover does. */
    private SlurmTracker tracker(boolean usage) {
        SlurmCommands commands = new SlurmCommands(settings.commandTimeout(), meters);
        return new SlurmTracker(run,
                dev.drover.cluster.ClusterBackend.Settler.of(run, new dev.drover.cluster.Settlement(5), resubmitted::addAll),
                settings, commands, null, ExitRecords.FILES, () -> now[0], usage);
    }

    private void answer(String command, String out, int rc, String err) throws IOException {
        Files.writeString(tmp.resolve(command + ".out"), out);
        Files.writeString(tmp.resolve(command + ".rc"), Integer.toString(rc));
        Files.writeString(tmp.resolve(command + ".err"), err);
    }

    private void squeue(String... lines) throws IOException {
        answer("squeue", lines.length == 0 ? "" : String.join("\n", lines) + "\n", 0, "");
    }

    /** Element e of the job runs task e: its exit record's line. */
    private void exitFile(int task, int code) throws IOException {
        Files.writeString(job.exitRecord(task), task + " " + code + "\n");
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
        assertEquals(TaskState.RUNNING, run.taskState(0), "inside the grace a late exit record may still appear");
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
        assertTrue(oom.reason().startsWith("SLURM OUT_OF_MEMORY: no mem was asked for"), oom.reason());
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
        assertEquals(TaskState.SUCCEEDED, ended.get(1).state(), "the exit record is the primary truth");
    }

    /** Two arrays of one one-task element each, followed by a tracker that asks sacct for their usage. */
    private ArrayJob[] twoArrays(SlurmTracker usageTracker) throws IOException {
        ArrayJob[] jobs = new ArrayJob[2];
        for (int a = 0; a < 2; a++) {
            jobs[a] = ArrayLayout.array(run.id(), run.dir(), run.plan(), ArrayLayout.key(2 + a),
                    List.of(List.of(run.plan().manifest().tasks().task(a))), 1);
            Files.createDirectories(jobs[a].dir());
            usageTracker.add(jobs[a], Integer.toString(600 + a));
        }
        return jobs;
    }

    @Test
    void anEndedArraysUsageIsAskedOncePerCycleForAllArraysAndItsLastOutcomeWaitsForIt() throws Exception {
        SlurmTracker usageTracker = tracker(true);
        ArrayJob[] jobs = twoArrays(usageTracker);
        Files.writeString(jobs[0].exitRecord(0), "0 0 1500 1200 209715200\n");
        Files.writeString(jobs[1].exitRecord(0), "1 0 900 800 104857600\n");
        squeue();
        usageTracker.cycle();
        assertNull(ended.get(0), "the array's last outcome waits for its usage");
        assertEquals(0, calls("sacct"));

        answer("sacct", """
                600_0|COMPLETED|00:00:02|00:01.000||300M|1|00:05:00|node1
                600_0.batch|COMPLETED|00:00:02|00:01.000|204800K|300M|1||node1
                601_0|COMPLETED|00:00:01|00:00.500||300M|1|00:05:00|node2
                """, 0, "");
        usageTracker.cycle();
        assertEquals(1, calls("sacct"), "one call for both arrays, not one per array or a loop of asks");
        assertTrue(Files.readString(tmp.resolve("sacct.args")).contains("--jobs=600,601"));
        assertEquals(new TaskUsage(2000, 1000, 204800L << 10), run.usage(0), "sacct's figures come first");
        assertEquals(List.of("0\t1\tnode1\tmem=300M,time=00:05:00"), granted(), "what SLURM gave the attempt");
        assertEquals(TaskState.SUCCEEDED, ended.get(0).state());
        assertNull(ended.get(1), "601_0's MaxRSS is not in sacct yet");

        usageTracker.cycle();
        assertEquals(1, calls("sacct"), "at most once a second");
        now[0] += SlurmUsage.ASK_INTERVAL_MILLIS;
        usageTracker.cycle();
        assertEquals(2, calls("sacct"));
        assertNull(ended.get(1), "still within the wait");
        now[0] += SlurmUsage.WAIT_MILLIS;
        usageTracker.cycle();
        assertEquals(3, calls("sacct"));
        assertEquals(TaskState.SUCCEEDED, ended.get(1).state(), "settled once the wait has passed");
        assertEquals(new TaskUsage(900, 800, 100L << 20), run.usage(1), "drover-launch's figures from the exit record");
        assertTrue(!usageTracker.cycle(), "nothing left to wait for");
    }

    @Test
    void withAccountingOffEachTaskReportsWhatDroverLaunchMeasured() throws Exception {
        SlurmTracker usageTracker = tracker(true);
        ArrayJob[] jobs = twoArrays(usageTracker);
        answer("sacct", "", 1, "sacct: error: Slurm accounting storage is disabled\n");
        Files.writeString(jobs[0].exitRecord(0), "0 3 1500 1200 209715200\n");
        squeue(JOB.replace("500", "601") + "|0|RUNNING|None");
        usageTracker.cycle();
        usageTracker.cycle();
        assertEquals(1, calls("sacct"));
        assertEquals(3, ended.get(0).exitCode());
        assertEquals(new TaskUsage(1500, 1200, 200L << 20), run.usage(0));

        Files.writeString(jobs[1].exitRecord(0), "1 0 900 800 104857600\n");
        usageTracker.cycle();
        assertEquals(TaskState.SUCCEEDED, ended.get(1).state(), "settled at once: accounting is known to be off");
        assertEquals(new TaskUsage(900, 800, 100L << 20), run.usage(1));
        assertEquals(1, calls("sacct"), "sacct is not asked again in this run");
    }

    /** The journal's granted lines, without their kind and time: index, attempt, node, resources. */
    private List<String> granted() throws IOException {
        return Files.readAllLines(run.dir().resolve("journal.log")).stream().filter(l -> l.startsWith("granted\t"))
                .map(l -> l.split("\t", 3)[2]).toList();
    }

    @Test
    void aBatchedElementsTasksReportTheirOwnFiguresAndSacctOnlyWhatSlurmGaveTheElement() throws Exception {
        SlurmTracker usageTracker = tracker(true);
        List<TaskSpec> both = List.of(run.plan().manifest().tasks().task(0), run.plan().manifest().tasks().task(1));
        ArrayJob batched = ArrayLayout.array(run.id(), run.dir(), run.plan(), ArrayLayout.key(4), List.of(both), 1);
        Files.createDirectories(batched.dir());
        usageTracker.add(batched, "700");
        Files.writeString(batched.exitRecord(0), "0 0 1500 1200 209715200\n1 0 900 8");
        squeue(JOB.replace("500", "700") + "|0|RUNNING|None");
        usageTracker.cycle();
        assertEquals(TaskState.SUCCEEDED, ended.get(0).state());
        assertNull(ended.get(1), "a line still being written is read next time");
        Files.writeString(batched.exitRecord(0), "0 0 1500 1200 209715200\n1 0 900 800 104857600\n");
        usageTracker.cycle();
        assertNull(ended.get(1), "the array's last outcome waits for what SLURM gave its element");
        assertEquals(new TaskUsage(1500, 1200, 200L << 20), run.usage(0));
        assertEquals(new TaskUsage(900, 800, 100L << 20), run.usage(1));
        answer("sacct", """
                700_0|COMPLETED|00:00:03|00:02.500||1G|2|01:00:00|node7
                700_0.batch|COMPLETED|00:00:03|00:02.500|300M|1G|2||node7
                """, 0, "");
        usageTracker.cycle();
        assertEquals(TaskState.SUCCEEDED, ended.get(1).state());
        assertEquals(1, calls("sacct"));
        assertEquals(new TaskUsage(900, 800, 100L << 20), run.usage(1), "sacct cannot split an element between its"
                + " tasks: each keeps its own figures");
        assertEquals(List.of("0\t1\tnode7\tmem=1G,time=01:00:00", "1\t1\tnode7\tmem=1G,time=01:00:00"), granted());
    }
}
