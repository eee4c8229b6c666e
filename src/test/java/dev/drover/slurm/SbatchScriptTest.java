package dev.drover.slurm;

import dev.drover.HostileArgv;
import dev.drover.manifest.ManifestException;
import dev.drover.manifest.ManifestReader;
import dev.drover.manifest.TaskSpec;
import dev.drover.manifest.JobResources;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The generated batch script, run by a plain sh as an array element would run it (no SLURM needed). */
class SbatchScriptTest {

    /** drover-launch as drover.slurm.launcher's default (auto) finds it on this machine. */
    private static final String LAUNCHER = dev.drover.run.DroverLaunch.locate("auto");

    @TempDir
    Path tmp;

    private static final List<String> NASTY = List.of("printf", "[%s]\\n", "a b", "it's", "$(touch pwned)",
            "`touch pwned`", "$HOME", "*", "\\", "\"", "line\nbreak", "-e", "");

    private ArrayJob job(List<List<TaskSpec>> elements, int attempt, int throttle) {
        return new ArrayJob("r-1", "a0001", tmp.resolve("run/slurm/a0001"), elements, attempt, throttle);
    }

    private String runElement(ArrayJob job, int element) throws Exception {
        return runElement(job, element, true);
    }

    private String runElement(ArrayJob job, int element, boolean write) throws Exception {
        Files.createDirectories(job.dir());
        Files.createDirectories(tmp.resolve("run/logs"));
        if (write) {
            SbatchScript.write(job, tmp.resolve("run"), "t", JobResources.parse("mem=1G,time=00:01:00"), tmp, null,
                    null, LAUNCHER);
        }
        ProcessBuilder pb = new ProcessBuilder("sh", job.script().toString()).directory(tmp.toFile())
                .redirectErrorStream(true);
        pb.environment().put("SLURM_ARRAY_TASK_ID", Integer.toString(element));
        pb.environment().put("PATH", tmp.resolve("bin") + ":" + System.getenv("PATH"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return p.waitFor() + ":" + out;
    }

    @Test
    void everyArgumentReachesTheTaskUnchangedAndNothingIsExpanded() throws Exception {
        TaskSpec task = new TaskSpec(7, "t7", NASTY, Map.of("V", "x'y $(z)"), null);
        ArrayJob job = job(List.of(List.of(task)), 1, 0);
        assertEquals("0:", runElement(job, 0));
        String log = Files.readString(tmp.resolve("run/logs/t7.log"));
        assertEquals("[a b]\n[it's]\n[$(touch pwned)]\n[`touch pwned`]\n[$HOME]\n[*]\n[\\]\n[\"]\n[line\nbreak]\n"
                + "[-e]\n[]\n", log);
        assertFalse(Files.exists(tmp.resolve("pwned")));
        assertEquals(0, ExitRecords.FILES.read(job.dir(), 0).get(7).code());
    }

    @Test
    void aProgramWhosePathHoldsAnEqualsSignOrStartsWithADashRunsWithItsArgvByteExact() throws Exception {
        List<String> args = HostileArgv.everyKindOfArgument();
        Path equals = HostileArgv.argvPrinter(tmp.resolve("tools/a=b/tool=1"));
        HostileArgv.argvPrinter(tmp.resolve("bin/-dash=tool"));
        List<TaskSpec> tasks = new java.util.ArrayList<>();
        for (String program : List.of(equals.toString(), "-dash=tool", "tools/a=b/tool=1")) {
            List<String> argv = new java.util.ArrayList<>(List.of(program));
            argv.addAll(args);
            tasks.add(new TaskSpec(tasks.size(), "p" + tasks.size(), argv, Map.of("A", "x=y"), null));
        }
        ArrayJob job = job(List.of(tasks), 1, 0);
        // bash is /bin/sh on many clusters (RHEL): its exec takes options, dash's does not
        for (String shell : List.of("sh", "bash"))
        for (java.time.Duration timeout : java.util.Arrays.asList(null, java.time.Duration.ofSeconds(30))) {
            Files.createDirectories(job.dir());
            Files.createDirectories(tmp.resolve("run/logs"));
            SbatchScript.write(job, tmp.resolve("run"), "t", JobResources.parse("mem=1G"), tmp, timeout, null,
                    LAUNCHER);
            assertFalse(Files.readString(job.script()).contains("\r"), "sbatch refuses a script with \\r\\n in it");
            ProcessBuilder pb = new ProcessBuilder(shell, job.script().toString()).directory(tmp.toFile())
                    .redirectErrorStream(true);
            pb.environment().put("SLURM_ARRAY_TASK_ID", "0");
            pb.environment().put("PATH", tmp.resolve("bin") + ":" + System.getenv("PATH"));
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals("0:", p.waitFor() + ":" + out, shell + ", timeout " + timeout);
            for (TaskSpec task : tasks) {
                assertEquals(args, HostileArgv.printed(tmp.resolve("run/logs/" + task.id() + ".log")),
                        task.command().get(0) + " under " + shell + ", timeout " + timeout);
            }
        }
        assertFalse(Files.exists(tmp.resolve("pwned")));
    }

    @Test
    void droverVariablesWinOverTheManifestsOwn() throws Exception {
        TaskSpec task = new TaskSpec(3, "t3", List.of("sh", "-c",
                "echo \"$DROVER_RUN_ID|$DROVER_TASK_ID|$DROVER_TASK_INDEX|$DROVER_ATTEMPT|$MINE\""),
                Map.of("DROVER_RUN_ID", "x", "DROVER_TASK_ID", "x", "DROVER_TASK_INDEX", "x", "DROVER_ATTEMPT", "x",
                        "MINE", "m'$1"), null);
        ArrayJob job = job(List.of(List.of(task)), 2, 0);
        assertEquals("0:", runElement(job, 0));
        assertEquals("r-1|t3|3|2|m'$1\n", Files.readString(tmp.resolve("run/logs/t3.log")));
    }

    @Test
    void aBatchRunsInOrderAndRecordsEachExitCode() throws Exception {
        TaskSpec a = new TaskSpec(0, "a", List.of("sh", "-c", "echo a >> ../order; exit 3"), Map.of(), "run");
        TaskSpec b = new TaskSpec(1, "b", List.of("sh", "-c", "echo b >> ../order; echo $V"), Map.of("V", "x'y"), "run");
        ArrayJob job = job(List.of(List.of(a, b)), 1, 0);
        Files.createDirectories(tmp.resolve("run"));
        assertEquals("3:", runElement(job, 0));
        assertEquals(3, ExitRecords.FILES.read(job.dir(), 0).get(0).code());
        assertEquals(0, ExitRecords.FILES.read(job.dir(), 0).get(1).code());
        assertEquals("a\nb\n", Files.readString(tmp.resolve("order")));
        assertEquals("x'y\n", Files.readString(tmp.resolve("run/logs/b.log")));
        assertTrue(runElement(job, 5).startsWith("2:"), "an element without tasks fails");
    }

    @Test
    void directivesAreQuotedAndArraysUseIndicesFromZero() {
        TaskSpec t = new TaskSpec(12, "x", List.of("true"), Map.of(), null);
        String script = SbatchScript.render(job(List.of(List.of(t), List.of(t), List.of(t)), 2, 2), tmp.resolve("run"),
                "my name!", JobResources.parse("mem=1G,cpus-per-task=2,partition=cpu"), tmp, null, null, LAUNCHER);
        assertTrue(script.contains("#SBATCH --array=\"0-2%2\"\n"));
        assertTrue(script.contains("#SBATCH --job-name=\"drover-my_name_\"\n"));
        assertTrue(script.contains("#SBATCH --cpus-per-task=\"2\"\n"));
        assertTrue(script.contains("#SBATCH --comment=\"drover run r-1 array a0001\"\n"), "how a restart finds it");
        assertEquals(List.of("--parsable", job(List.of(List.of(t)), 1, 0).script().toString()),
                SbatchScript.sbatchArgs(job(List.of(List.of(t)), 1, 0)));
        assertTrue(job(List.of(List.of(t)), 1, 5).arraySpec().equals("0-0"), "no throttle above the size");
    }

    @Test
    void unsafeRunDirectoriesAndValuesAreRefused() {
        TaskSpec t = new TaskSpec(0, "x", List.of("true"), Map.of(), null);
        assertThrows(ManifestException.class, () -> SbatchScript.render(job(List.of(List.of(t)), 1, 0),
                Path.of("/tmp/100%"), "n", JobResources.NONE, tmp, null, null, LAUNCHER));
        assertThrows(ManifestException.class, () -> JobResources.parse("mem=1G\"\n#SBATCH --wrap=x"));
        assertThrows(ManifestException.class, () -> JobResources.parse("partition=a b"));
    }

    @Test
    void chunksFollowMaxArraySize() {
        RunPlan slurm = RunPlan.resolve(ManifestReader.parse("name: c\ncommand: [echo]\nrange: {start: 0, end: 25}\n"),
                new RunOptions("slurm", null, "mem=1G"));
        assertEquals(List.of(10, 10, 5), ArrayLayout.arrays(ArrayLayout.elements(slurm), 10).stream().map(List::size).toList());
        RunPlan batching = RunPlan.resolve(ManifestReader.parse("name: c\ncommand: [echo]\nrange: {start: 0, end: 25}\n"),
                new RunOptions("slurm+batching", 3, "mem=1G"));
        List<List<List<TaskSpec>>> arrays = ArrayLayout.arrays(ArrayLayout.elements(batching), 10);
        assertEquals(1, arrays.size());
        assertEquals(List.of(9, 9, 7), arrays.get(0).stream().map(List::size).toList());
    }

    @Test
    void parsesSlurmOutput() {
        assertEquals(10, SlurmLimits.parseMaxArraySize("MaxArrayGarbage = 3\nMaxArraySize            = 10\n"));
        assertEquals(null, SlurmLimits.parseMaxArraySize("nothing"));
        assertEquals(3, SlurmFinalStates.exitCode("3", "0"));
        assertEquals(137, SlurmFinalStates.exitCode("0", "9"));
    }

    /** Holds ~200 MB (touched) and burns ~1 s of CPU in a child of a shell, as a task's real work often runs. */
    static final List<String> WORK = List.of("sh", "-c", "python3 -c \"x = b'x' * (200 << 20)\nimport time\n"
            + "t = time.process_time()\nwhile time.process_time() - t < 1: pass\"; exit 5");

    @Test
    void eachTasksExitRecordCarriesWhatDroverLaunchMeasuredOfItsWholeTree() throws Exception {
        TaskSpec work = new TaskSpec(0, "w", WORK, Map.of(), null);
        TaskSpec quick = new TaskSpec(1, "q", List.of("true"), Map.of(), null);
        ArrayJob job = job(List.of(List.of(work, quick)), 1, 0);
        assertEquals("5:", runElement(job, 0));
        ExitRecords.Exit exit = ExitRecords.FILES.read(job.dir(), 0).get(0);
        assertEquals(5, exit.code(), "the task's own exit status, through drover-launch");
        assertTrue(exit.usage() != null, "built with drover-launch (target/), so the element measures");
        assertTrue(exit.usage().cpuMillis() >= 900 && exit.usage().cpuMillis() < 5000, exit.toString());
        assertTrue(exit.usage().maxRssBytes() >= 200L << 20 && exit.usage().maxRssBytes() < 400L << 20,
                exit.toString());
        assertTrue(exit.usage().wallMillis() >= exit.usage().cpuMillis() / 2, exit.toString());
        ExitRecords.Exit quickExit = ExitRecords.FILES.read(job.dir(), 0).get(1);
        assertEquals(0, quickExit.code());
        assertTrue(quickExit.usage().cpuMillis() < 500, "each task its own figures: " + quickExit);
    }

    /**
     * drover.slurm.launcher: auto (the path on drover's machine, as found), none, or the nodes' absolute path; a
     * relative one is refused with a line that names the setting and what to give.
     */
    @Test
    void theLauncherSettingGivesTheNodesPathAndARelativeOneIsRefused() {
        assertEquals(LAUNCHER, settings("auto").launcherPath());
        assertNull(settings("none").launcherPath());
        assertEquals("/opt/drover/drover-launch", settings("/opt/drover/drover-launch").launcherPath());
        for (String relative : List.of("drover-launch", "bin/drover-launch", "./drover-launch", "~/drover-launch")) {
            ManifestException e = assertThrows(ManifestException.class, () -> settings(relative).launcherPath());
            assertEquals("drover.slurm.launcher: '" + relative + "' is not an absolute path: give drover-launch's"
                    + " path on the compute nodes (e.g. /opt/drover/drover-launch), auto or none", e.getMessage());
        }
        TaskSpec t = new TaskSpec(0, "t", List.of("true"), Map.of(), null);
        String script = SbatchScript.render(job(List.of(List.of(t)), 1, 0), tmp.resolve("run"), "n",
                JobResources.NONE, tmp, null, null, settings("/opt/it's/drover-launch").launcherPath());
        assertTrue(script.contains("drover_launch='/opt/it'\\''s/drover-launch'\n"), script);
        String without = SbatchScript.render(job(List.of(List.of(t)), 1, 0), tmp.resolve("run"), "n",
                JobResources.NONE, tmp, null, null, settings("none").launcherPath());
        assertTrue(without.contains("drover_launch=\n"), without);
    }

    private static SlurmSettings settings(String launcher) {
        java.time.Duration s = java.time.Duration.ofSeconds(1);
        return new SlurmSettings("squeue", "scontrol", "scancel", "sacct", 0, s, s, s, s, s, s, 1, s, launcher);
    }

    @Test
    void aNodeWithoutDroverLaunchRunsTheTasksAndSaysSoOnceInItsOutput() throws Exception {
        TaskSpec a = new TaskSpec(0, "a", List.of("sh", "-c", "ls /proc/$$/fd; exit 4"), Map.of(), null);
        TaskSpec b = new TaskSpec(1, "b", List.of("true"), Map.of(), null);
        ArrayJob job = job(List.of(List.of(a, b)), 1, 0);
        Files.createDirectories(job.dir());
        Files.createDirectories(tmp.resolve("run/logs"));
        // drover.slurm.launcher names a path the node does not have
        SbatchScript.write(job, tmp.resolve("run"), "t", JobResources.NONE, tmp, null, null, "/nowhere/dl");
        String out = runElement(job, 0, false);
        assertTrue(out.startsWith("4:drover: /nowhere/dl is not on node "), out);
        assertEquals(1, out.split("is not on node", -1).length - 1, "said once per element: " + out);
        assertEquals(Map.of(0, new ExitRecords.Exit(4, null), 1, new ExitRecords.Exit(0, null)),
                ExitRecords.FILES.read(job.dir(), 0));
        assertEquals("0\n1\n2\n", Files.readString(tmp.resolve("run/logs/a.log")).replaceAll("(?m)^2\\d+\n", ""),
                "the task gets no extra descriptor");
    }

    @Test
    void filesGrowWithElementsAQuietTaskLeavesNoLogAndARetryAppendsToItsLog() throws Exception {
        TaskSpec quiet = new TaskSpec(0, "quiet", List.of("true"), Map.of(), null);
        TaskSpec loud = new TaskSpec(1, "loud", List.of("sh", "-c", "echo out; echo err >&2"), Map.of(), null);
        assertEquals("0:", runElement(job(List.of(List.of(quiet, loud)), 1, 0), 0));
        assertFalse(Files.exists(tmp.resolve("run/logs/quiet.log")), "a quiet task leaves no file");
        assertEquals("out\nerr\n", Files.readString(tmp.resolve("run/logs/loud.log")));
        try (var left = Files.list(tmp.resolve("run/logs/running"))) {
            assertEquals(List.of(), left.toList(), "the element's slot files go when it ends");
        }
        ArrayJob job = job(List.of(List.of(quiet, loud)), 1, 0);
        try (var files = Files.list(job.dir())) {
            assertEquals(List.of("0.exit"), files.map(f -> f.getFileName().toString())
                    .filter(name -> name.endsWith(".exit")).toList(), "one exit record for the element's tasks");
        }
        assertEquals("0:", runElement(job(List.of(List.of(loud)), 2, 0), 0));
        assertEquals("out\nerr\nout\nerr\n", Files.readString(tmp.resolve("run/logs/loud.log")),
                "the retry's output after the first attempt's");
    }

    @Test
    void aRunningTasksOutputIsFoundThroughItsSlotAndKeptWhenItsElementIsStopped() throws Exception {
        Path started = tmp.resolve("started");
        TaskSpec before = new TaskSpec(0, "before", List.of("true"), Map.of(), null);
        TaskSpec slow = new TaskSpec(1, "slow", List.of("sh", "-c", "printf 'so far\\n'; touch " + started
                + "; sleep 60"), Map.of(), null);
        ArrayJob job = job(List.of(List.of(before, slow)), 1, 0);
        Files.createDirectories(job.dir());
        SbatchScript.write(job, tmp.resolve("run"), "t", JobResources.NONE, tmp, null, null, LAUNCHER);
        ProcessBuilder pb = new ProcessBuilder("setsid", "sh", job.script().toString()).redirectErrorStream(true);
        pb.environment().put("SLURM_ARRAY_TASK_ID", "0");
        Process element = pb.start();
        try {
            dev.drover.Await.until("the slow task started", java.time.Duration.ofSeconds(30),
                    () -> Files.exists(started));
            Path slot = dev.drover.local.TaskLogs.find(tmp.resolve("run"), "slow");
            assertTrue(slot != null && dev.drover.local.TaskLogs.stillRuns(slot, "slow"), String.valueOf(slot));
            assertEquals("so far\n", Files.readString(slot), "what drover logs shows while it runs");
            assertEquals(Map.of(0, new ExitRecords.Exit(0, ExitRecords.FILES.read(job.dir(), 0).get(0).usage())),
                    ExitRecords.FILES.read(job.dir(), 0), "the first task's line only");
            // scancel / a time limit: SLURM sends TERM to every process of the element
            new ProcessBuilder("kill", "-TERM", "--", "-" + element.pid()).start().waitFor();
            assertTrue(element.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            element.destroyForcibly();
        }
        assertEquals(143, element.exitValue());
        assertEquals("so far\n", Files.readString(tmp.resolve("run/logs/slow.log")), "kept as the element stopped");
        assertEquals(1, ExitRecords.FILES.read(job.dir(), 0).size(), "no line: SLURM's state says how it ended");
        try (var left = Files.list(tmp.resolve("run/logs/running"))) {
            assertEquals(List.of(), left.toList());
        }
    }
}
