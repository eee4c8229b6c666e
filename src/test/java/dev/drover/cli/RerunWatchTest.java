package dev.drover.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.drover.cli.SubmitStatusCancelTest.drover;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** drover rerun and drover status --watch, through the real command line and real task processes. */
class RerunWatchTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path tmp;

    private List<Path> runDirs() throws Exception {
        try (Stream<Path> dirs = Files.list(tmp.resolve("runs"))) {
            return dirs.sorted().toList();
        }
    }

    private Path newRunDir(List<Path> before) throws Exception {
        List<Path> now = new ArrayList<>(runDirs());
        now.removeAll(before);
        assertEquals(1, now.size(), "one new run directory: " + now);
        return now.get(0);
    }

    @Test
    void aRerunRunsJustTheFailedTasksWithTheSameIdsAndEnvironmentAndLinksBack() throws Exception {
        String runs = tmp.resolve("runs").toString();
        // the two flaky tasks fail until the marker exists; the rerun must keep their env and workdir to pass
        Path manifest = Files.writeString(tmp.resolve("m.yaml"), String.join("\n",
                "name: flaky",
                "workdir: " + tmp,
                "env: {WANTED: marker}",
                "retries: 0",
                "tasks:",
                "  - {id: steady, command: [\"true\"]}",
                "  - {id: flaky-a, command: [sh, -c, 'test -f \"$WANTED\"']}",
                "  - {id: flaky-b, command: [sh, -c, 'test -f \"$WANTED\" && test \"$OWN\" = b'], env: {OWN: b}}",
                ""));
        assertEquals(1, drover("run", manifest.toString(), "--runs-dir", runs).exit());
        Path first = runDirs().get(0);
        String firstId = first.getFileName().toString();

        assertEquals(2, drover("rerun", firstId, "--tasks", "steady,nope", "--runs-dir", runs).exit(),
                "an unknown task id is refused");
        SubmitStatusCancelTest.Result refused = drover("rerun", firstId, "--job-resources", "mem=1G", "--runs-dir",
                runs);
        assertEquals(2, refused.exit(), "resources pass to the plan's checks: refused for multiprocessing");
        assertTrue(refused.err().contains("--job-resources"), refused.err());
        assertEquals(1, runDirs().size(), "a refused rerun leaves no run behind");

        Files.writeString(tmp.resolve("marker"), "");
        List<Path> before = runDirs();
        SubmitStatusCancelTest.Result rerun = drover("rerun", firstId, "--runs-dir", runs);
        assertEquals(0, rerun.exit(), rerun.out() + rerun.err());
        assertTrue(rerun.out().startsWith("rerun of " + firstId + ": 2 tasks"), rerun.out());
        Path second = newRunDir(before);
        JsonNode report = JSON.readTree(second.resolve("report.json").toFile());
        assertEquals(firstId, report.path("rerunOf").asText());
        assertEquals(2, report.path("tasks").size());
        assertEquals("flaky-a", report.path("tasks").get(0).path("id").asText());
        assertEquals("flaky-b", report.path("tasks").get(1).path("id").asText());
        assertTrue(Files.isRegularFile(second.resolve("report.html")));

        String secondId = second.getFileName().toString();
        String status = drover("status", secondId, "--runs-dir", runs).out();
        assertTrue(status.contains("rerun of  " + firstId + " FAILED (2 failed) -> this run"), status);
        String original = drover("status", firstId, "--runs-dir", runs).out();
        assertTrue(original.contains("reruns    " + secondId + " SUCCEEDED"), original);
        assertEquals(firstId, JSON.readTree(drover("status", secondId, "--json", "--runs-dir", runs).out())
                .path("rerunOf").asText());

        SubmitStatusCancelTest.Result nothing = drover("rerun", secondId, "--runs-dir", runs);
        assertEquals(2, nothing.exit());
        assertTrue(nothing.err().contains("nothing to rerun"), nothing.err());

        before = runDirs();
        assertEquals(0, drover("rerun", firstId, "--tasks", "steady", "--runs-dir", runs).exit());
        assertEquals(1, JSON.readTree(newRunDir(before).resolve("report.json").toFile()).path("tasks").size());
    }

    @Test
    void aSequentialRunIsRerunSequentially() throws Exception {
        String runs = tmp.resolve("runs").toString();
        Path manifest = Files.writeString(tmp.resolve("s.yaml"),
                "name: seq\nstrategy: sequential\ntasks: [{id: a, command: [\"false\"]}, {id: b, command: [\"true\"]}]\n");
        assertEquals(1, drover("run", manifest.toString(), "--runs-dir", runs).exit());
        List<Path> before = runDirs();
        SubmitStatusCancelTest.Result rerun = drover("rerun", before.get(0).getFileName().toString(), "--runs-dir",
                runs);
        assertEquals(1, rerun.exit(), "the rerun ran (and failed again), not refused: " + rerun.err());
        JsonNode report = JSON.readTree(newRunDir(before).resolve("report.json").toFile());
        assertEquals("sequential", report.path("strategy").asText());
        assertEquals("a", report.path("tasks").get(0).path("id").asText());
    }

    @Test
    void watchFollowsARunToItsEndAndExitsByItsOutcome() throws Exception {
        String runs = tmp.resolve("runs").toString();
        Path go = tmp.resolve("go");
        Path manifest = Files.writeString(tmp.resolve("w.yaml"), String.join("\n",
                "name: watched",
                "tasks:",
                "  - {id: now, command: [\"true\"]}",
                "  - {id: later, command: [sh, -c, 'while [ ! -f " + go + " ]; do sleep 0.05; done']}",
                "  - {id: fails, command: [sh, -c, 'while [ ! -f " + go + " ]; do sleep 0.05; done; exit 1']}", ""));
        CompletableFuture<SubmitStatusCancelTest.Result> run = CompletableFuture.supplyAsync(
                () -> drover("run", manifest.toString(), "--runs-dir", runs, "--jobs", "3"));
        Path runDir = Await.value("the run directory", Duration.ofSeconds(60), () -> Files.isDirectory(tmp.resolve(
                "runs")) && !runDirs().isEmpty() ? runDirs().get(0) : null);
        ByteArrayOutputStream lines = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(lines, true, StandardCharsets.UTF_8);
        CompletableFuture<Integer> watch = CompletableFuture.supplyAsync(() -> {
            try {
                return new StatusWatch(runDir, 0.1, false, out).follow();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Await.until("the watch to show a task done and two running", Duration.ofSeconds(60),
                () -> lines.toString(StandardCharsets.UTF_8).contains("1/3 done: 1 succeeded, 0 failed, 0 cancelled,"
                        + " 2 running; "));
        assertTrue(lines.toString(StandardCharsets.UTF_8).matches("(?s).*tasks/s, about .* left\n.*"), lines.toString());
        Files.writeString(go, "");
        assertEquals(1, watch.get(60, TimeUnit.SECONDS), "exit 1: a task failed");
        assertEquals(1, run.get(60, TimeUnit.SECONDS).exit());
        String[] shown = lines.toString(StandardCharsets.UTF_8).split("\n");
        assertTrue(shown[shown.length - 1].matches(".* FAILED 3/3 done: 2 succeeded, 1 failed, 0 cancelled, 0 running"),
                shown[shown.length - 1]);
        assertEquals(List.of(shown).size(), List.of(shown).stream().distinct().count(), "a line only per change");
    }
}
