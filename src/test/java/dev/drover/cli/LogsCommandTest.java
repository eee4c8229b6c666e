package dev.drover.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.drover.cli.SubmitStatusCancelTest.Result;
import dev.drover.run.RunReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.drover.cli.SubmitStatusCancelTest.drover;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `drover logs` over tasks that printed and tasks that did not, with the tasks in report.json or tasks.jsonl. */
class LogsCommandTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path tmp;

    @Test
    void showsTheTasksThatPrintedWhereverTheReportKeepsItsTasks() throws Exception {
        Path manifest = tmp.resolve("m.yaml");
        Files.writeString(manifest, """
                name: logs
                tasks:
                  - {id: talk, command: [sh, -c, 'echo hello; echo oops >&2']}
                  - {id: quiet, command: ['true']}
                  - {id: bad, command: [sh, -c, 'printf no-newline; exit 2']}
                """);
        String runs = tmp.resolve("runs").toString();
        assertEquals(1, drover("run", manifest.toString(), "--runs-dir", runs).exit());
        Path runDir;
        try (var dirs = Files.list(Path.of(runs))) {
            runDir = dirs.findFirst().orElseThrow();
        }
        String runId = runDir.getFileName().toString();
        Result all = drover("logs", runId, "--runs-dir", runs);
        assertEquals(0, all.exit(), all.err());
        assertEquals("==> talk (SUCCEEDED) " + runDir.resolve("logs/talk.log") + " <==\nhello\noops\n"
                + "==> bad (FAILED) " + runDir.resolve("logs/bad.log") + " <==\nno-newline\n", all.out());
        Result quiet = drover("logs", runId, "quiet", "--runs-dir", runs);
        assertEquals(2, quiet.exit());
        assertTrue(quiet.err().contains("printed nothing"), quiet.err());

        // the same run as a large run's report keeps it: the tasks in tasks.jsonl, as documented
        ObjectNode report = (ObjectNode) JSON.readTree(runDir.resolve(RunReport.FILE).toFile());
        List<String> lines = new ArrayList<>();
        lines.add("{\"columns\":" + JSON.writeValueAsString(RunReport.COLUMNS) + ",\"log\":\"logs/<id>.log\"}");
        for (JsonNode task : report.remove("tasks")) {
            ArrayNode row = JSON.createArrayNode();
            RunReport.COLUMNS.forEach(column -> row.add(task.path(column).isMissingNode() ? null : task.get(column)));
            lines.add(JSON.writeValueAsString(row));
        }
        report.put("tasksFile", RunReport.TASKS_FILE);
        Files.write(runDir.resolve(RunReport.TASKS_FILE), lines);
        Files.writeString(runDir.resolve(RunReport.FILE), JSON.writeValueAsString(report));
        assertEquals(all.out(), drover("logs", runId, "--runs-dir", runs).out());
        assertEquals("==> bad (FAILED) " + runDir.resolve("logs/bad.log") + " <==\nno-newline\n",
                drover("logs", runId, "--failed", "--runs-dir", runs).out());
        assertEquals("hello\noops\n", drover("logs", runId, "talk", "--runs-dir", runs).out());
    }
}
