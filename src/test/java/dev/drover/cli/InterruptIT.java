package dev.drover.cli;

import dev.drover.Await;
import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.DroverProcesses;
import dev.drover.TestPipeline;
import dev.drover.run.Journal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Integration test (after packaging): `bin/drover run` as a user starts it, interrupted at random moments by Ctrl-C
 * (SIGINT to its process group, as a terminal sends it) or SIGTERM to its pid, with retries configured. Every time:
 * exit 130 within seconds, the report says CANCELLED, no task starts and no retry begins after the cancel, no task
 * that was running is reported FAILED, and not one process of any task is left.
 */
class InterruptIT {

    private static final int ROUNDS = 20;
    /** Tasks by index % 4: fail fast (retried), ignore SIGTERM, fork children all the time, plain. */
    private static final String TASK = """
            echo "$$ $1 $DROVER_ATTEMPT" >> %1$s
            case $(($1 %% 4)) in
              0) sleep 0.2; exit 3 ;;
              1) trap "" TERM; sleep 30 & echo $! >> %2$s; wait ;;
              2) trap "" TERM; while :; do sleep 30 & echo $! >> %2$s; sleep 0.05; done ;;
              3) sleep 30 & echo $! >> %2$s; wait ;;
            esac
            """;

    @TempDir
    Path dir;
    DroverProcesses drover;
    final List<Long> everyPid = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        if (drover != null) {
            drover.close();
        }
        everyPid.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }

    @Test
    void ctrlCAndSigtermCancelTheRunEveryTime() throws Exception {
        drover = new DroverProcesses(dir);
        Random random = new Random();
        for (int round = 0; round < ROUNDS; round++) {
            Path work = Files.createDirectories(dir.resolve("round" + round));
            boolean ctrlC = round % 2 == 0;
            // most rounds interrupt a running run; every fifth one any moment from the start (JVM start-up included)
            boolean anyMoment = round % 5 == 4;
            String what = "round " + round + (ctrlC ? " (Ctrl-C)" : " (SIGTERM)");
            interruptOnce(work, ctrlC, anyMoment, random, what);
        }
    }

    private void interruptOnce(Path work, boolean ctrlC, boolean anyMoment, Random random, String what)
            throws Exception {
        Path execs = work.resolve("execs");
        Path children = work.resolve("children");
        Path script = Files.writeString(work.resolve("task.sh"), TASK.formatted(execs, children));
        Path manifest = Files.writeString(work.resolve("m.yaml"), "name: interrupt\njobs: 3\nretries: 3\n"
                + "range: {end: 12}\ncommand: [sh, " + script + ", '{index}']\n");
        Path runs = work.resolve("runs");
        Map<String, String> env = new HashMap<>();
        env.put("DROVER_JAVA_OPTS", "-Ddrover.local.kill-grace=0.3"); // tasks that ignore SIGTERM cost this much
        Process run = drover.startInOwnGroup(env, work.getFileName() + ".out", "run", manifest.toString(),
                "--runs-dir", runs.toString());
        if (anyMoment) {
            Thread.sleep(random.nextInt(2500));
        } else {
            assertTrue(Await.within(Duration.ofSeconds(60), () -> !lines(execs).isEmpty()),
                    what + ": no task started: " + drover.log(work.getFileName() + ".out"));
            Thread.sleep(random.nextInt(1500));
        }
        long signalled = System.nanoTime();
        if (ctrlC) {
            DroverProcesses.interruptGroup(run);
        } else {
            run.destroy();
        }
        assertTrue(run.waitFor(20, TimeUnit.SECONDS), what + ": drover did not exit");
        double seconds = (System.nanoTime() - signalled) / 1e9;
        String out = drover.log(work.getFileName() + ".out");
        for (String line : lines(execs)) {
            everyPid.add(Long.parseLong(line.split(" ")[0]));
        }
        lines(children).forEach(pid -> everyPid.add(Long.parseLong(pid)));
        assertTrue(seconds < 10, what + ": took " + seconds + " s to exit");
        assertNoneAlive(what);
        Path runDir = runDir(runs);
        if (runDir == null) {
            // interrupted in start-up, before drover took the signals over: the JVM's default (143 for SIGTERM)
            assertTrue(List.of(130, 143).contains(run.exitValue()), what + ": exit " + run.exitValue() + " " + out);
            assertTrue(lines(execs).isEmpty(), what + ": tasks ran without a run directory");
            return;
        }
        assertEquals(Foreground.CANCELLED, run.exitValue(), what + ": " + out);
        JsonNode report = TestPipeline.report(runDir);
        assertEquals("CANCELLED", report.get("state").asText(), what);
        assertTrue(out.contains("CANCELLED"), what + ": " + out);
        for (JsonNode task : report.get("tasks")) {
            String state = task.get("state").asText();
            boolean failsByItself = task.get("index").asInt() % 4 == 0;
            assertTrue(state.equals("CANCELLED") || failsByItself && state.equals("FAILED")
                    && task.get("exitCode").asInt() == 3 && task.get("attempts").asInt() == 4, what + ": " + task);
        }
        assertNothingBeganAfterTheCancel(runDir, what);
        Map<String, Integer> runsPerTask = new HashMap<>();
        lines(execs).forEach(line -> runsPerTask.merge(line.split(" ")[1], 1, Integer::sum));
        runsPerTask.forEach((index, count) -> assertTrue(count <= (Integer.parseInt(index) % 4 == 0 ? 4 : 1),
                what + ": task " + index + " ran " + count + " times"));
    }

    /** After the journal's cancel line: no start, no retry, and every end is CANCELLED. */
    private static void assertNothingBeganAfterTheCancel(Path runDir, String what) {
        boolean cancelled = false;
        for (String[] line : Journal.read(runDir)) {
            if (line[0].equals("cancel")) {
                cancelled = true;
            } else if (cancelled) {
                assertTrue(!line[0].equals("start") && !line[0].equals("retry")
                        && !(line[0].equals("end") && !line[4].equals("CANCELLED")), what + ": after the cancel: "
                        + String.join(" ", line));
            }
        }
        assertTrue(cancelled, what + ": the journal records the cancel");
    }

    /** Every task process and every child they forked is gone (a zombie awaiting its parent counts as gone). */
    private void assertNoneAlive(String what) throws Exception {
        for (long pid : everyPid) {
            Path stat = Path.of("/proc/" + pid + "/stat");
            String text;
            try {
                text = Files.readString(stat);
            } catch (java.io.IOException gone) {
                continue;
            }
            char state = text.charAt(text.lastIndexOf(')') + 2);
            assertTrue(state == 'Z' || state == 'X', what + ": process " + pid + " outlived drover: " + text);
        }
    }

    private static Path runDir(Path runs) throws Exception {
        if (!Files.isDirectory(runs)) {
            return null;
        }
        try (Stream<Path> list = Files.list(runs)) {
            return list.findFirst().orElse(null);
        }
    }

    private static List<String> lines(Path file) throws Exception {
        return Files.exists(file) ? Files.readAllLines(file).stream().filter(l -> !l.isBlank()).toList() : List.of();
    }
}
