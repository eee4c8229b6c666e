package dev.drover.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** report.json, with its tasks inline or, for a large run, in tasks.jsonl: the same facts either way. */
class RunReportTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path tmp;

    /** Four tasks: succeeded, failed with a reason after a retry, and two not started. */
    private Run run() {
        Run run = HandDriven.accept(new RunRegistry(tmp), "rep", 4, "sequential", null);
        HandDriven.succeeds(run, 0);
        HandDriven.failsAfterARetry(run, 1, 3, 124, "timed out after \"1s\"\n");
        return run;
    }

    @Test
    void aSmallRunListsItsTasksInTheReportCompactly() throws Exception {
        Run run = run();
        RunReport.write(run, RunState.FAILED);
        String text = Files.readString(run.dir().resolve(RunReport.FILE));
        assertFalse(text.strip().contains("\n"), "one compact line: " + text);
        JsonNode report = JSON.readTree(text);
        assertEquals("FAILED", report.path("state").asText());
        assertEquals(1, report.path("counts").path("failed").asInt());
        JsonNode tasks = report.path("tasks");
        assertEquals(4, tasks.size());
        assertEquals("logs/1.log", tasks.get(1).path("log").asText());
        assertFacts(run, List.of(tasks.get(0), tasks.get(1), tasks.get(2), tasks.get(3)));
        assertFalse(Files.exists(run.dir().resolve(RunReport.TASKS_FILE)));
    }

    @Test
    void aLargeRunKeepsItsTasksInTasksJsonlOneLineEach() throws Exception {
        Run run = run();
        RunReport.write(run, RunState.FAILED, 3);
        JsonNode report = JSON.readTree(run.dir().resolve(RunReport.FILE).toFile());
        assertTrue(report.path("tasks").isMissingNode());
        assertEquals(RunReport.TASKS_FILE, report.path("tasksFile").asText());
        assertEquals("FAILED", report.path("state").asText());
        List<String> lines = Files.readAllLines(run.dir().resolve(RunReport.TASKS_FILE));
        assertEquals(5, lines.size(), "a header and one line per task: " + lines);
        JsonNode header = JSON.readTree(lines.get(0));
        List<String> columns = JSON.convertValue(header.path("columns"), JSON.getTypeFactory()
                .constructCollectionType(List.class, String.class));
        assertEquals(RunReport.COLUMNS, columns);
        assertTrue(lines.get(1).startsWith("[\"0\",0,\"SUCCEEDED\",0,1,\"") && lines.get(1).endsWith("Z\"]"),
                "trailing nulls are left out: " + lines.get(1));
        assertEquals("[\"3\",3,\"PENDING\",null,0,null,null]", lines.get(4));
        List<JsonNode> tasks = lines.subList(1, lines.size()).stream().map(line -> {
            JsonNode row = read(line);
            var object = JSON.createObjectNode();
            for (int c = 0; c < columns.size(); c++) {
                object.set(columns.get(c), row.path(c).isMissingNode() ? JSON.nullNode() : row.get(c));
            }
            return (JsonNode) object;
        }).toList();
        assertFacts(run, tasks);
    }

    /**
     * What a cluster's accounting says it gave an attempt (node, granted resources over those asked) is in that
     * attempt's history entry: for a task's one attempt, and for an earlier attempt accounted for after the next
     * started; the same after the journal is replayed (task 2 never starts: the run is left to recover).
     */
    @Test
    void historyShowsTheNodeAndResourcesTheClusterGaveEachAttempt() throws Exception {
        RunRegistry registry = new RunRegistry(tmp);
        Run run = HandDriven.accept(registry, "granted", 3, "sequential", null);
        run.taskStarted(0, 1);
        run.taskGranted(0, 1, "node1", "mem=4000M,time=00:05:00");
        run.taskFinished(0, 1, TaskState.SUCCEEDED, 0, null);
        run.taskStarted(1, 1);
        run.attemptFailed(1, 1, 137, "exit code 137");
        run.taskStarted(1, 2);
        run.taskGranted(1, 1, "node2", "mem=30M");
        run.taskGranted(1, 2, null, "time=00:10:00");
        run.taskFinished(1, 2, TaskState.SUCCEEDED, 0, null);
        Path copy = Files.createDirectories(tmp.resolve("again").resolve(run.id()));
        try (var files = Files.list(run.dir())) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        Run replayed = new RunRegistry(tmp.resolve("again")).recoverUnfinished().get(0);
        for (Run reading : List.of(run, replayed)) {
            RunReport.write(reading, RunState.SUCCEEDED);
            JsonNode tasks = JSON.readTree(reading.dir().resolve(RunReport.FILE).toFile()).path("tasks");
            JsonNode only = tasks.get(0).path("history").get(0);
            assertEquals("node1", only.path("node").asText(), only.toString());
            assertEquals("4000M", only.path("resources").path("mem").asText(), only.toString());
            assertEquals("00:05:00", only.path("resources").path("time").asText(), only.toString());
            JsonNode history = tasks.get(1).path("history");
            assertEquals("node2", history.get(0).path("node").asText(), history.toString());
            assertEquals("30M", history.get(0).path("resources").path("mem").asText(), history.toString());
            assertTrue(history.get(1).path("node").isMissingNode(), history.toString());
            assertEquals("00:10:00", history.get(1).path("resources").path("time").asText(), history.toString());
        }
    }

    private static JsonNode read(String line) {
        try {
            return JSON.readTree(line);
        } catch (Exception e) {
            throw new AssertionError(line, e);
        }
    }

    private static void assertFacts(Run run, List<JsonNode> tasks) {
        for (int i = 0; i < 4; i++) {
            JsonNode task = tasks.get(i);
            TaskRecord record = run.record(i);
            assertEquals(String.valueOf(i), task.path("id").asText());
            assertEquals(i, task.path("index").asInt());
            assertEquals(record.state().name(), task.path("state").asText());
            assertEquals(record.attempts(), task.path("attempts").asInt());
            if (record.exitCode() == Integer.MIN_VALUE) {
                assertTrue(task.path("exitCode").isNull(), task.toString());
            } else {
                assertEquals(record.exitCode(), task.path("exitCode").asInt());
            }
            for (String field : List.of("startedAt", "finishedAt")) {
                long millis = field.equals("startedAt") ? record.startedAt() : record.finishedAt();
                if (millis == 0) {
                    assertTrue(task.path(field).isNull(), field + " of " + task);
                } else {
                    assertEquals(Instant.ofEpochMilli(millis), Instant.parse(task.path(field).asText()));
                }
            }
            assertEquals(String.valueOf(record.reason()), task.path("reason").isNull() || task.path("reason")
                    .isMissingNode() ? "null" : task.path("reason").asText());
        }
        assertEquals("timed out after \"1s\"\n", tasks.get(1).path("reason").asText());
        assertEquals("PENDING", tasks.get(3).path("state").asText());
    }
}
