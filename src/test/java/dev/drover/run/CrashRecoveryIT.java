package dev.drover.run;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.Await;
import dev.drover.DroverProcesses;
import dev.drover.TestPipeline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.drover.DroverProcesses.awaitEnded;
import static dev.drover.DroverProcesses.awaitRunDir;
import static dev.drover.DroverProcesses.endedTasks;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Integration tests (after packaging): `drover serve` killed with SIGKILL in the middle of a run, then restarted;
 * `drover run` killed the same way, then `drover resume`.
 */
class CrashRecoveryIT {

    @TempDir
    Path dir;
    DroverProcesses drover;
    Path runs;
    Path marks;

    @BeforeEach
    void setUp() throws Exception {
        drover = new DroverProcesses(dir);
        runs = dir.resolve("runs");
        marks = Files.createDirectories(dir.resolve("marks"));
    }

    @AfterEach
    void stopDaemons() {
        drover.close();
    }

    /** A manifest whose tasks each append a line to marks/INDEX: how often each ran. */
    private Path manifest(String name, int tasks) throws Exception {
        Path file = dir.resolve(name + ".yaml");
        Files.writeString(file, """
                name: %s
                jobs: 2
                command: [sh, -c, 'echo ran >> %s/{index}; sleep 0.5']
                range: {end: %d}
                """.formatted(name, marks, tasks));
        return file;
    }

    /** Every task ran, and the ones that had ended before the kill ran exactly once. */
    private void assertNoFinishedTaskRanAgain(Set<Integer> endedBeforeKill, int tasks) throws Exception {
        for (int index = 0; index < tasks; index++) {
            List<String> ran = Files.readAllLines(marks.resolve(Integer.toString(index)));
            if (endedBeforeKill.contains(index)) {
                assertEquals(1, ran.size(), "task " + index + " had finished before the kill and did not run again");
            }
        }
    }

    @Test
    void everyTaskCompletesAndNoFinishedTaskRunsAgain() throws Exception {
        Path inbox = Files.createDirectories(dir.resolve("inbox"));
        Process first = drover.start("first.log", "serve", "--inbox", inbox.toString(), "--runs-dir", runs.toString());
        Files.move(manifest("work", 16), inbox.resolve("work.yaml"));

        Path runDir = awaitRunDir(runs);
        awaitEnded(runDir, 4);
        DroverProcesses.kill(first);
        Set<Integer> endedBeforeKill = endedTasks(runDir);
        assertTrue(endedBeforeKill.size() >= 4 && endedBeforeKill.size() < 16, "killed mid-run: " + endedBeforeKill);
        assertTrue(Files.exists(inbox.resolve("work.yaml")), "the manifest stays in the inbox until its run ends");

        drover.start("second.log", "serve", "--inbox", inbox.toString(), "--runs-dir", runs.toString());
        Path done = inbox.resolve(".done/work.yaml");
        assertTrue(Await.within(Duration.ofSeconds(60), () -> Files.exists(done)), drover.log("second.log"));
        try (Stream<Path> all = Files.list(runs)) {
            assertEquals(1, all.count(), "the left-over manifest did not start a second run");
        }
        JsonNode report = TestPipeline.report(runDir);
        assertEquals("SUCCEEDED", report.get("state").asText());
        assertEquals(16, report.get("counts").get("succeeded").asInt());
        assertNoFinishedTaskRanAgain(endedBeforeKill, 16);
    }

    @Test
    void aKilledDroverRunIsResumedInTheForeground() throws Exception {
        Process first = drover.start("first.log", "run", manifest("resume", 12).toString(), "--runs-dir",
                runs.toString());
        Path runDir = awaitRunDir(runs);
        awaitEnded(runDir, 4);
        DroverProcesses.kill(first); // the OOM killer, a reboot
        Set<Integer> endedBeforeKill = endedTasks(runDir);
        assertTrue(endedBeforeKill.size() < 12, "killed mid-run: " + endedBeforeKill);

        String runId = runDir.getFileName().toString();
        Process resumed = drover.start("resume.log", "resume", runId, "--runs-dir", runs.toString());
        assertTrue(resumed.waitFor(120, TimeUnit.SECONDS));
        String out = drover.log("resume.log");
        assertEquals(0, resumed.exitValue(), out);
        assertTrue(out.contains("run " + runId + " SUCCEEDED: 12 succeeded"), out);
        assertNoFinishedTaskRanAgain(endedBeforeKill, 12);

        Process again = drover.start("again.log", "resume", runId, "--runs-dir", runs.toString());
        assertTrue(again.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, again.exitValue(), "a finished run resumes to its outcome, running nothing");
        Process unknown = drover.start("unknown.log", "resume", "no-such-run", "--runs-dir", runs.toString());
        assertTrue(unknown.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, unknown.exitValue());
        assertTrue(drover.log("unknown.log").contains("no run no-such-run"));
    }
}
