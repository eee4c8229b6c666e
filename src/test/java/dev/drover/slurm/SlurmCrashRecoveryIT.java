package dev.drover.slurm;

import dev.drover.Await;
import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.DroverProcesses;
import dev.drover.TestPipeline;
import dev.drover.run.Journal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `drover serve` running a slurm manifest on the test cluster, killed with SIGKILL mid-run and started again: the
 * arrays SLURM kept running are re-attached by job id, never submitted again, and no task runs twice.
 */
@ExtendWith(SlurmClusterExtension.class)
class SlurmCrashRecoveryIT {

    @TempDir
    Path dir;
    DroverProcesses drover;
    Path inbox;
    Path runs;
    Path marks;

    @BeforeEach
    void setUp() throws Exception {
        drover = new DroverProcesses(dir);
        inbox = Files.createDirectories(dir.resolve("inbox"));
        runs = dir.resolve("runs");
        marks = Files.createDirectories(dir.resolve("marks"));
    }

    @AfterEach
    void stopDaemons() {
        drover.close();
    }

    private Process serve(String log) throws Exception {
        return drover.start(log, "serve", "--no-observe", "--inbox", inbox.toString(), "--runs-dir", runs.toString(),
                "-D", "drover.slurm.poll-initial=200", "-D", "drover.slurm.poll-max=1000",
                "-D", "drover.slurm.squeue-min-interval=1000", "-D", "drover.slurm.exit-grace=2000");
    }

    /** A slurm manifest whose tasks each append a line to marks/INDEX (how often each ran), then run {@code then}. */
    private Path slurmManifest(String name, String then, int tasks) throws Exception {
        Path file = dir.resolve(name + ".yaml");
        Files.writeString(file, """
                name: %s
                strategy: slurm
                jobResources: mem=20M,time=00:05:00
                command: [sh, -c, 'echo ran >> %s/{index}; %s']
                range: {end: %d}
                """.formatted(name, marks, then, tasks));
        return file;
    }

    /**
     * Serves a slurm manifest of 12 tasks (two arrays: MaxArraySize is 10; tasks 0-3 end at once, the rest sleep)
     * and kills drover with SIGKILL once both arrays are submitted and 4 tasks have ended; returns the run directory.
     */
    private Path killedMidRun() throws Exception {
        Process first = serve("first.log");
        Files.move(slurmManifest("slurmcrash", "[ {index} -lt 4 ] || sleep 8", 12), inbox.resolve("crash.yaml"));
        Path runDir = DroverProcesses.awaitRunDir(runs);
        for (int i = 0; i < 600 && first.isAlive(); i++) {
            List<String[]> journal = Journal.read(runDir);
            if (jobIds(journal).size() == 2 && DroverProcesses.endedTasks(journal).size() >= 4) {
                DroverProcesses.kill(first);
                return runDir;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the run did not get there: " + drover.log("first.log"));
    }

    @Test
    void aHangupLeavesTheArraysToSlurmAndResumeFollowsThem() throws Exception {
        Path manifest = slurmManifest("slurmhup", "sleep 4", 6);
        Process run = drover.start("run.log", "run", manifest.toString(), "--runs-dir", runs.toString());
        Path runDir = DroverProcesses.awaitRunDir(runs);
        assertTrue(Await.within(Duration.ofSeconds(60), () -> !jobIds(Journal.read(runDir)).isEmpty()),
                "the array was not submitted: " + drover.log("run.log"));
        String jobId = jobIds(Journal.read(runDir)).get("a0001");
        new ProcessBuilder("kill", "-HUP", Long.toString(run.pid())).start().waitFor(); // the terminal closed
        assertTrue(run.waitFor(30, TimeUnit.SECONDS));
        assertEquals(129, run.exitValue(), drover.log("run.log"));
        assertTrue(drover.log("run.log").contains("drover resume"), drover.log("run.log"));
        assertFalse(squeue(jobId).isEmpty(), "the array goes on without drover");

        Process resumed = drover.start("resume.log", "resume", runDir.getFileName().toString(), "--runs-dir",
                runs.toString());
        assertTrue(resumed.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, resumed.exitValue(), drover.log("resume.log"));
        assertEquals(Map.of("a0001", jobId), jobIds(Journal.read(runDir)), "nothing was submitted again");
        for (int index = 0; index < 6; index++) {
            assertEquals(1, Files.readAllLines(marks.resolve(Integer.toString(index))).size(), "task " + index);
        }
    }

    /** Restarts serve and waits until the manifest has moved to .done; returns the run's report. */
    private JsonNode restartedToTheEnd(Path runDir) throws Exception {
        serve("second.log");
        Path done = inbox.resolve(".done/crash.yaml");
        assertTrue(Await.within(Duration.ofSeconds(120), () -> Files.exists(done)), drover.log("second.log"));
        JsonNode report = TestPipeline.report(runDir);
        assertEquals("SUCCEEDED", report.get("state").asText());
        assertEquals(12, report.get("counts").get("succeeded").asInt());
        return report;
    }

    @Test
    void submittedArraysAreReattachedNotSubmittedAgain() throws Exception {
        Path runDir = killedMidRun();
        Map<String, String> jobs = jobIds(Journal.read(runDir));
        Set<Integer> endedBeforeKill = DroverProcesses.endedTasks(runDir);
        assertFalse(squeue(String.join(",", jobs.values())).isEmpty(), "SLURM keeps running the arrays");

        restartedToTheEnd(runDir);
        assertEquals(jobs, jobIds(Journal.read(runDir)), "no array was submitted again");
        for (int index = 0; index < 12; index++) {
            assertEquals(1, Files.readAllLines(marks.resolve(Integer.toString(index))).size(),
                    "task " + index + " ran once (ended before the kill: " + endedBeforeKill.contains(index) + ")");
        }
        assertTrue(drover.log("second.log").contains("re-attached to job"), drover.log("second.log"));
    }

    @Test
    void anArrayWhoseJobIdACrashKeptFromTheJournalIsCancelledAndItsTasksRunAgain() throws Exception {
        Path runDir = killedMidRun();
        // What a kill between sbatch's answer and the line that commits the array leaves: "submission a0001"
        // without its job id, its tasks started, the backend lines of some of them (here tasks 0-4), no outcome.
        String lost = jobIds(Journal.read(runDir)).get("a0001");
        Set<Integer> inLostArray = new HashSet<>();
        Path journal = runDir.resolve(Journal.FILE);
        List<String> kept = new ArrayList<>();
        for (String line : Files.readAllLines(journal, StandardCharsets.UTF_8)) {
            String[] f = line.split("\t", -1);
            if (f[0].equals("backend") && f[3].startsWith(lost + "_")) {
                inLostArray.add(Integer.parseInt(f[2]));
            }
        }
        for (String line : Files.readAllLines(journal, StandardCharsets.UTF_8)) {
            String[] f = line.split("\t", -1);
            boolean lostId = f[0].equals("submission") && f[3].equals(lost);
            boolean ofLostTask = inLostArray.contains(f.length > 2 ? parseOr(f[2]) : -1)
                    && (f[0].equals("end") || (f[0].equals("backend") && Integer.parseInt(f[2]) >= 5));
            if (!lostId && !ofLostTask) {
                kept.add(line);
            }
        }
        Files.write(journal, kept, StandardCharsets.UTF_8);
        assertEquals(10, inLostArray.size());

        restartedToTheEnd(runDir);
        assertTrue(squeue(lost).isEmpty(), "the unrecorded array was cancelled");
        for (int index = 0; index < 4; index++) {
            assertEquals(1, Files.readAllLines(marks.resolve(Integer.toString(index))).size(),
                    "task " + index + " had succeeded in the unrecorded array and was not run again");
        }
        assertTrue(jobIds(Journal.read(runDir)).containsKey("a0003"), "the other tasks ran in a new array");
    }

    private static int parseOr(String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Array key to SLURM job id, from the journal's submission lines that have an id. */
    private static Map<String, String> jobIds(List<String[]> lines) {
        Map<String, String> ids = new LinkedHashMap<>();
        for (String[] line : lines) {
            if (line[0].equals("submission") && line.length > 3 && !line[3].isEmpty()) {
                ids.put(line[2], line[3]);
            }
        }
        return ids;
    }

    /** Jobs among the given ids that SLURM still has pending or running. */
    private static List<String> squeue(String jobIds) throws Exception {
        Process p = new ProcessBuilder("squeue", "--noheader", "--jobs=" + jobIds, "--states=PENDING,RUNNING")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out.lines().filter(l -> !l.isBlank() && !l.contains("Invalid job id")).toList();
    }
}
