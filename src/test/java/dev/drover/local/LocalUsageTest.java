package dev.drover.local;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.TestPipeline;
import dev.drover.plan.RunOptions;
import dev.drover.report.Efficiency;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Local tasks' usage as the kernel counts it (wait4 through drover-launch), against known work: a task that holds
 * 100 MB and burns 1 s of CPU, run directly and as the child of a shell (the whole waited-for tree counts), and a
 * retried task whose figures are its last attempt's. Without the launcher tasks still run and have no figures.
 */
class LocalUsageTest {

    /** Holds 100 MB (touched) and burns one second of CPU time. */
    static final String WORK = "x = b'x' * (100 << 20)\nimport time\nt = time.process_time()\n"
            + "while time.process_time() - t < 1: pass\n";

    @TempDir
    Path tmp;

    @Test
    void cpuAndPeakMemoryOfTheTaskAndItsChildrenAreMeasured() throws Exception {
        JsonNode report;
        try (TestPipeline pipeline = new TestPipeline(tmp.resolve("runs"))) {
            report = pipeline.run("""
                    name: usage
                    retries: 1
                    tasks:
                      - id: direct
                        command: [python3, -c, "%s"]
                      - id: child
                        command: [sh, -c, 'python3 -c "$0"; echo done', "%s"]
                      - id: quick
                        command: ["true"]
                      - id: retried
                        command: [sh, -c, '[ "$DROVER_ATTEMPT" = 2 ] || { python3 -c "$0"; exit 1; }', "%s"]
                    """.formatted(escape(WORK), escape(WORK), escape(WORK)), new RunOptions("multiprocessing", 2, null));
        }
        assertEquals("SUCCEEDED", report.get("state").asText(), report.toString());
        for (String id : new String[]{"direct", "child"}) {
            JsonNode usage = task(report, id).get("usage");
            assertNotNull(usage, id + ": " + report);
            double cpu = usage.get("cpuSeconds").asDouble();
            long rss = usage.get("maxRssBytes").asLong();
            assertTrue(cpu >= 0.95 && cpu < 4, id + " used " + cpu + " s of CPU, not about 1: " + usage);
            assertTrue(rss >= 100L << 20 && rss < 200L << 20, id + " peaked at " + rss + " bytes, not ~100 MB");
            assertTrue(usage.get("wallSeconds").asDouble() >= cpu - 0.05, id + ": wall below CPU: " + usage);
        }
        JsonNode quick = task(report, "quick").get("usage");
        assertTrue(quick.get("cpuSeconds").asDouble() < 0.5 && quick.get("maxRssBytes").asLong() < 20L << 20,
                quick.toString());
        assertTrue(task(report, "retried").get("usage").get("cpuSeconds").asDouble() < 0.5,
                "the retried task's figures are its second (idle) attempt's");
        JsonNode history = task(report, "retried").get("history");
        assertEquals(2, history.size(), history.toString());
        assertTrue(history.get(0).get("usage").get("cpuSeconds").asDouble() >= 0.95,
                "each attempt keeps its own figures in history: " + history);
        assertTrue(history.get(1).get("usage").get("cpuSeconds").asDouble() < 0.5, history.toString());
        assertNotNull(task(report, "quick").get("history").get(0).get("usage"), "a single attempt's history too");
        Path runDir = tmp.resolve("runs").resolve(report.get("runId").asText());
        long lines = Files.readAllLines(runDir.resolve("journal.log")).stream().filter(l -> l.startsWith("usage\t"))
                .count();
        assertEquals(5, lines, "one usage line per attempt");
        // Each attempt's process is journalled with its start time, which drover-launch reads before the task can be
        // reaped: the quick task's too, so that recovery can tell it from a later process with the same pid.
        String self = Files.readString(Path.of("/proc/self/stat"));
        long testStarted = Long.parseLong(self.substring(self.lastIndexOf(')') + 2).split(" ")[19]);
        List<String[]> processes = Files.readAllLines(runDir.resolve("journal.log")).stream()
                .filter(l -> l.startsWith("process\t")).map(l -> l.split("\t")).toList();
        assertEquals(5, processes.size(), "one process line per attempt");
        for (String[] process : processes) {
            assertTrue(Long.parseLong(process[5]) >= testStarted, "start ticks " + String.join(" ", process));
        }
        String advice = Efficiency.adviceFor(runDir);
        assertTrue(advice != null && advice.contains("the largest task used"), String.valueOf(advice));
    }

    @Test
    void withoutTheLauncherTasksRunAsBeforeAndHaveNoFigures() throws Exception {
        JsonNode report;
        try (TestPipeline pipeline = new TestPipeline(tmp.resolve("runs"), Map.of("drover.local.launcher", "none"))) {
            report = pipeline.run("""
                    name: unmeasured
                    tasks:
                      - id: ok
                        command: [sh, -c, 'echo "$DROVER_TASK_ID"']
                      - id: missing
                        command: [no-such-program-here]
                    """, new RunOptions("sequential", null, null));
        }
        assertEquals(1, report.get("counts").get("succeeded").asInt(), report.toString());
        assertFalse(task(report, "ok").has("usage"), report.toString());
        assertTrue(task(report, "missing").get("reason").asText().contains("cannot start no-such-program-here"));
        assertNull(Efficiency.adviceFor(tmp.resolve("runs").resolve(report.get("runId").asText())));
    }

    @Test
    void aTaskWhoseLauncherIsKilledEndsWithItsWholeSessionAndTheNextTaskRuns() throws Exception {
        Path pids = tmp.resolve("pids");
        JsonNode report;
        try (TestPipeline pipeline = new TestPipeline(tmp.resolve("runs"))) {
            report = pipeline.run("""
                    name: launcher-killed
                    tasks:
                      - id: killer
                        command: [sh, -c, 'sleep 60 & echo $! >> "$0"; kill -9 $PPID; sleep 60', "%s"]
                      - id: after
                        command: ["true"]
                    """.formatted(pids), new RunOptions("sequential", null, null));
        }
        JsonNode killer = task(report, "killer");
        assertEquals("FAILED", killer.get("state").asText(), report.toString());
        // killed by the launcher's death, or seen dying before it had started (the task killed it that fast)
        assertTrue(killer.get("exitCode").asInt() == LocalTaskRunner.KILLED
                || killer.get("exitCode").asInt() == LocalTaskRunner.CANNOT_START, report.toString());
        assertEquals(1, Files.readAllLines(pids).size(), "the task ran once");
        assertEquals("SUCCEEDED", task(report, "after").get("state").asText(), "a new launcher runs the next task");
        String sleeper = Files.readString(pids).strip();
        assertFalse(alive(sleeper), "the task's child outlived its end");
    }

    /** A zombie waiting for its parent (here: whatever reaps orphans) counts as gone. */
    private static boolean alive(String pid) {
        try {
            String stat = Files.readString(Path.of("/proc", pid, "stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (java.io.IOException gone) {
            return false;
        }
    }

    private static JsonNode task(JsonNode report, String id) {
        for (JsonNode task : report.get("tasks")) {
            if (task.get("id").asText().equals(id)) {
                return task;
            }
        }
        throw new AssertionError("no task " + id + " in " + report);
    }

    /** For a YAML double-quoted string. */
    private static String escape(String text) {
        return text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
