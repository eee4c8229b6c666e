package dev.drover.run;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.TestPipeline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Integration test (after packaging): `drover serve` killed with SIGKILL in the middle of a run, then restarted. */
class CrashRecoveryIT {

    @TempDir
    Path dir;

    private final List<Process> daemons = new ArrayList<>();

    @AfterEach
    void stopDaemons() {
        daemons.forEach(Process::destroyForcibly);
    }

    private Process serve(Path inbox, Path runs, String log) throws Exception {
        Process p = new ProcessBuilder(TestPipeline.HOME.resolve("bin/drover").toString(), "serve",
                "--inbox", inbox.toString(), "--runs-dir", runs.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve(log).toFile()).start();
        daemons.add(p);
        return p;
    }

    @Test
    void everyTaskCompletesAndNoFinishedTaskRunsAgain() throws Exception {
        Path inbox = Files.createDirectories(dir.resolve("inbox"));
        Path runs = dir.resolve("runs");
        Path marks = Files.createDirectories(dir.resolve("marks"));
        Process first = serve(inbox, runs, "first.log");
        Path temp = dir.resolve("work.yaml");
        Files.writeString(temp, """
                name: work
                jobs: 2
                command: [sh, -c, 'echo ran >> %s/{index}; sleep 0.5']
                range: {end: 16}
                """.formatted(marks));
        Files.move(temp, inbox.resolve("work.yaml"));

        Path runDir = awaitRunDir(runs);
        for (int i = 0; i < 300 && endedTasks(runDir).size() < 4; i++) {
            Thread.sleep(50);
        }
        first.destroyForcibly(); // kill -9
        assertTrue(first.waitFor(10, TimeUnit.SECONDS));
        Set<Integer> endedBeforeKill = endedTasks(runDir);
        assertTrue(endedBeforeKill.size() >= 4 && endedBeforeKill.size() < 16, "killed mid-run: " + endedBeforeKill);
        assertTrue(Files.exists(inbox.resolve("work.yaml")), "the manifest stays in the inbox until its run ends");

        serve(inbox, runs, "second.log");
        Path done = inbox.resolve(".done/work.yaml");
        for (int i = 0; i < 600 && !Files.exists(done); i++) {
            Thread.sleep(100);
        }
        assertTrue(Files.exists(done), Files.readString(dir.resolve("second.log")));
        try (Stream<Path> all = Files.list(runs)) {
            assertEquals(1, all.count(), "the left-over manifest did not start a second run");
        }
        JsonNode report = TestPipeline.report(runDir);
        assertEquals("SUCCEEDED", report.get("state").asText());
        assertEquals(16, report.get("counts").get("succeeded").asInt());
        for (int index = 0; index < 16; index++) {
            List<String> ran = Files.readAllLines(marks.resolve(Integer.toString(index)));
            if (endedBeforeKill.contains(index)) {
                assertEquals(1, ran.size(), "task " + index + " had finished before the kill and did not run again");
            }
        }
    }

    @Test
    void aKilledDroverRunIsResumedInTheForeground() throws Exception {
        Path runs = dir.resolve("runs");
        Path marks = Files.createDirectories(dir.resolve("marks"));
        Path manifest = dir.resolve("resume.yaml");
        Files.writeString(manifest, """
                name: resume
                jobs: 2
                command: [sh, -c, 'echo ran >> %s/{index}; sleep 0.5']
                range: {end: 12}
                """.formatted(marks));
        Process first = drover("first.log", "run", manifest.toString(), "--runs-dir", runs.toString());
        Path runDir = awaitRunDir(runs);
        for (int i = 0; i < 300 && endedTasks(runDir).size() < 4; i++) {
            Thread.sleep(50);
        }
        first.destroyForcibly(); // a closed terminal, a killed login-node process
        assertTrue(first.waitFor(10, TimeUnit.SECONDS));
        Set<Integer> endedBeforeKill = endedTasks(runDir);
        assertTrue(endedBeforeKill.size() < 12, "killed mid-run: " + endedBeforeKill);

        String runId = runDir.getFileName().toString();
        Process resumed = drover("resume.log", "resume", runId, "--runs-dir", runs.toString());
        assertTrue(resumed.waitFor(120, TimeUnit.SECONDS));
        String out = Files.readString(dir.resolve("resume.log"));
        assertEquals(0, resumed.exitValue(), out);
        assertTrue(out.contains("run " + runId + " SUCCEEDED: 12 succeeded"), out);
        for (int index = 0; index < 12; index++) {
            List<String> ran = Files.readAllLines(marks.resolve(Integer.toString(index)));
            if (endedBeforeKill.contains(index)) {
                assertEquals(1, ran.size(), "task " + index + " had finished before the kill and did not run again");
            }
        }

        Process again = drover("again.log", "resume", runId, "--runs-dir", runs.toString());
        assertTrue(again.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, again.exitValue(), "a finished run resumes to its outcome, running nothing");
        Process unknown = drover("unknown.log", "resume", "no-such-run", "--runs-dir", runs.toString());
        assertTrue(unknown.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, unknown.exitValue());
        assertTrue(Files.readString(dir.resolve("unknown.log")).contains("no run no-such-run"));
    }

    private Process drover(String log, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(TestPipeline.HOME.resolve("bin/drover").toString()));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(dir.resolve(log).toFile())
                .start();
        daemons.add(p);
        return p;
    }

    private static Path awaitRunDir(Path runs) throws Exception {
        for (int i = 0; i < 600; i++) {
            if (Files.isDirectory(runs)) {
                try (Stream<Path> list = Files.list(runs)) {
                    var found = list.findFirst();
                    if (found.isPresent()) {
                        return found.get();
                    }
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no run started");
    }

    private static Set<Integer> endedTasks(Path runDir) {
        Set<Integer> ended = new HashSet<>();
        for (String[] line : Journal.read(runDir)) {
            if (line[0].equals("end") && line.length > 2) {
                ended.add(Integer.parseInt(line[2]));
            }
        }
        return ended;
    }
}
