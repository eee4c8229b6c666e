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
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Integration tests (after packaging): `drover run`, then `drover resume` (itself killed too), and `drover serve`,
 * each killed with SIGKILL at random moments at least ten times before the run may finish. Every task execution
 * notes its pid and checks that no other execution of its task is alive; the tests then check that no execution
 * ever overlapped another, that every task completed, and again only if it ended while no drover ran it, and that
 * no process is left.
 */
class ExactlyOnceIT {

    private static final int KILLS = 10;
    private static final int TASKS = 40;
    /**
     * A task: notes its pid in execs/INDEX after looking for a live earlier execution, runs 0.2-0.8 s, or 4 s for
     * every fourth (longer than a drover's restart, so that a killed drover leaves it running; every fifth task fails
     * its first completion and is retried), and notes its completion, with the time, in done/INDEX.
     */
    private static final String TASK = """
            f=%1$s/execs/$1
            for p in $(cat $f 2>/dev/null); do
              if kill -0 $p 2>/dev/null && [ "$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null)" != Z ]; then
                echo "task $1: $$ started while $p was running" >> %1$s/overlaps
              fi
            done
            echo $$ >> $f
            if [ $(($1 %% 4)) = 3 ]; then sleep 4; else sleep 0.$(($1 %% 7 + 2)); fi
            if [ $(($1 %% 5)) = 0 ] && [ ! -e %1$s/failed-once/$1 ]; then touch %1$s/failed-once/$1; exit 1; fi
            echo "$$ $(date +%%s%%3N)" >> %1$s/done/$1
            """;

    @TempDir
    Path dir;
    DroverProcesses drover;
    Path runs;
    Path manifest;
    final Random random = new Random();
    /** When each SIGKILL was sent (epoch ms). */
    final List<Long> kills = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        drover = new DroverProcesses(dir);
        runs = dir.resolve("runs");
        for (String sub : List.of("execs", "done", "failed-once")) {
            Files.createDirectories(dir.resolve(sub));
        }
        Path script = Files.writeString(dir.resolve("task.sh"), TASK.formatted(dir));
        manifest = Files.writeString(dir.resolve("work.yaml"), "name: work\njobs: 4\nretries: 1\nrange: {end: "
                + TASKS + "}\ncommand: [sh, " + script + ", '{index}']\n");
    }

    @AfterEach
    void cleanUp() throws Exception {
        drover.close();
        for (long pid : executions()) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    @Test
    void runAndResumeKilledAtRandomMomentsRunEachTaskOnce() throws Exception {
        Process first = drover.start("run.log", "run", manifest.toString(), "--runs-dir", runs.toString());
        String runId = DroverProcesses.awaitRunDir(runs).getFileName().toString();
        killAtRandom(first);
        for (int kill = 1; kill < KILLS; kill++) {
            killAtRandom(drover.start("resume" + kill + ".log", "resume", runId, "--runs-dir", runs.toString()));
        }
        Process last = drover.start("last.log", "resume", runId, "--runs-dir", runs.toString());
        assertTrue(last.waitFor(120, TimeUnit.SECONDS), "the last resume finishes");
        assertEquals(0, last.exitValue(), drover.log("last.log"));
        assertEachTaskRanOnce(runs.resolve(runId));
    }

    @Test
    void serveKilledAtRandomMomentsRunsEachTaskOnce() throws Exception {
        Path inbox = Files.createDirectories(dir.resolve("inbox"));
        String[] serve = {"serve", "--inbox", inbox.toString(), "--runs-dir", runs.toString(), "--no-observe"};
        Process first = drover.start("serve0.log", serve);
        Files.move(manifest, inbox.resolve("work.yaml"));
        Path runDir = DroverProcesses.awaitRunDir(runs);
        killAtRandom(first);
        for (int kill = 1; kill < KILLS; kill++) {
            killAtRandom(drover.start("serve" + kill + ".log", serve));
        }
        drover.start("last.log", serve);
        Path done = inbox.resolve(".done/work.yaml");
        assertTrue(Await.within(Duration.ofSeconds(120), () -> Files.exists(done)), drover.log("last.log"));
        assertEachTaskRanOnce(runDir);
    }

    /**
     * Kills drover at a random moment: mostly while tasks run (a random time after one more task has started), and
     * every third time at any moment from its start (start-up and recovery included).
     */
    private void killAtRandom(Process process) throws Exception {
        // the random moment is a deadline: waiting for a process that ended on its own by then gains nothing
        if (kills.size() % 3 == 2) {
            Await.within(Duration.ofMillis(random.nextInt(3000)), () -> !process.isAlive());
        } else {
            int before = executions().size();
            Await.within(Duration.ofSeconds(60), () -> executions().size() > before || !process.isAlive());
            Await.within(Duration.ofMillis(random.nextInt(1000)), () -> !process.isAlive());
        }
        kills.add(System.currentTimeMillis());
        DroverProcesses.kill(process);
    }

    private void assertEachTaskRanOnce(Path runDir) throws Exception {
        Path overlaps = dir.resolve("overlaps");
        assertTrue(!Files.exists(overlaps), "two executions of a task at once: " + (Files.exists(overlaps)
                ? Files.readString(overlaps) : ""));
        JsonNode report = TestPipeline.report(runDir);
        assertEquals("SUCCEEDED", report.get("state").asText());
        assertEquals(TASKS, report.get("counts").get("succeeded").asInt());
        // When no drover ran the run: from each kill to the next drover's first task start, which comes after its
        // recovery has ended whatever the killed one left running.
        List<long[]> away = new ArrayList<>();
        List<Long> starts = Journal.read(runDir).stream().filter(line -> line[0].equals("start"))
                .map(line -> Long.parseLong(line[1])).toList();
        for (long kill : kills) {
            away.add(new long[]{kill, starts.stream().filter(at -> at > kill).findFirst().orElse(Long.MAX_VALUE)});
        }
        for (int index = 0; index < TASKS; index++) {
            List<String> completions = Files.readAllLines(dir.resolve("done/" + index));
            assertTrue(!completions.isEmpty(), "task " + index + " completed");
            // The one way a task completes again: its earlier execution ended while no drover was running it (or in
            // the moment between its exit and its journal line), so no drover saw its exit code.
            for (String earlier : completions.subList(0, completions.size() - 1)) {
                long at = Long.parseLong(earlier.split(" ")[1]);
                assertTrue(away.stream().anyMatch(span -> at >= span[0] - 500 && at <= span[1]),
                        "task " + index + " completed again: " + completions + ", kills at " + kills
                                + ", starts at " + starts);
            }
        }
        for (long pid : executions()) {
            assertTrue(ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true), "execution " + pid + " is left");
        }
    }

    private List<Long> executions() throws Exception {
        List<Long> pids = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir.resolve("execs"))) {
            for (Path file : files.toList()) {
                Files.readAllLines(file).stream().filter(l -> !l.isBlank()).forEach(l -> pids.add(Long.parseLong(l)));
            }
        }
        return pids;
    }
}
