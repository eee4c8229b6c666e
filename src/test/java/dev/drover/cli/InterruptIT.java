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
 * that was running is reported FAILED, and not one process of any task is left. Each process is known by its pid and
 * its start time (clock ticks after boot, /proc/PID/stat field 22): with pids wrapping at 32768 on a busy machine, a
 * pid alone may by the time it is checked name another program's process (or thread).
 */
class InterruptIT {

    private static final int ROUNDS = 20;
    /** Indexes into {@link #stat}'s fields: the state (field 3) and the start time in clock ticks (field 22). */
    private static final int STATE = 0;
    private static final int STARTTIME = 22 - 3;
    /**
     * Tasks by index % 4: fail fast (retried), ignore SIGTERM, fork children all the time, plain. Each writes its own
     * pid and start time, then its index and attempt; each child's pid and start time are written as it starts.
     */
    private static final String TASK = """
            started() { cut -d' ' -f22 /proc/$1/stat; }
            echo "$$ $(started $$) $1 $DROVER_ATTEMPT" >> %1$s
            case $(($1 %% 4)) in
              0) sleep 0.2; exit 3 ;;
              1) trap "" TERM; sleep 30 & echo "$! $(started $!)" >> %2$s; wait ;;
              2) trap "" TERM; while :; do sleep 30 & echo "$! $(started $!)" >> %2$s; sleep 0.05; done ;;
              3) sleep 30 & echo "$! $(started $!)" >> %2$s; wait ;;
            esac
            """;

    @TempDir
    Path dir;
    DroverProcesses drover;
    /** Every task process and child seen, by pid, with its start time. */
    final Map<Long, String> everyProcess = new HashMap<>();

    @AfterEach
    void cleanUp() {
        if (drover != null) {
            drover.close();
        }
        everyProcess.forEach((pid, started) -> {
            if (started.equals(startTime(pid))) { // never another program's process that got the pid since
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
        });
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
            assertTrue(line.matches("[0-9]+ [0-9]+ [0-9]+ [0-9]+"), what + ": a task read its own start time: " + line);
        }
        Map<Long, String> processes = new HashMap<>();
        Stream.concat(lines(execs).stream(), lines(children).stream()).forEach(line -> {
            String[] pidAndStart = line.split(" ");
            // no start time: the process had gone when its start was read, so whatever has its pid now is another
            processes.put(Long.parseLong(pidAndStart[0]), pidAndStart.length > 1 ? pidAndStart[1] : "gone");
        });
        everyProcess.putAll(processes);
        assertTrue(seconds < 10, what + ": took " + seconds + " s to exit");
        assertNoneAlive(processes, what);
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
        lines(execs).forEach(line -> runsPerTask.merge(line.split(" ")[2], 1, Integer::sum));
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

    /**
     * Every task process and every child they forked is gone (a zombie awaiting its parent counts as gone): no process
     * has their pid and start time.
     */
    private static void assertNoneAlive(Map<Long, String> processes, String what) {
        processes.forEach((pid, started) -> {
            String[] stat = stat(pid);
            if (stat == null || !stat[STARTTIME].equals(started)) {
                return; // gone, or its pid now names a process started since
            }
            char state = stat[STATE].charAt(0);
            assertTrue(state == 'Z' || state == 'X', what + ": process " + pid + " outlived drover: "
                    + String.join(" ", stat));
        });
    }

    /** /proc/PID/stat's fields after the command name, from field 3 (state) on; null when there is no such process. */
    private static String[] stat(long pid) {
        try {
            String text = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return text.substring(text.lastIndexOf(')') + 2).strip().split(" ");
        } catch (java.io.IOException gone) {
            return null;
        }
    }

    private static String startTime(long pid) {
        String[] stat = stat(pid);
        return stat == null ? null : stat[STARTTIME];
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
