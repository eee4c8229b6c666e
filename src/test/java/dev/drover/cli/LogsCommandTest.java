package dev.drover.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.drover.cli.SubmitStatusCancelTest.Result;
import dev.drover.Await;
import dev.drover.PipelineExtension;
import dev.drover.plan.RunOptions;
import dev.drover.run.Run;
import dev.drover.run.RunReport;
import dev.drover.run.TaskState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.drover.cli.SubmitStatusCancelTest.drover;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `drover logs` over tasks that printed and tasks that did not, with the tasks in report.json or tasks.jsonl. */
class LogsCommandTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path tmp;

    @RegisterExtension
    static final PipelineExtension pipeline = new PipelineExtension();

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

    @Test
    void whileTheRunGoesOnEachTaskSaysWhatItPrintedOrWhyItHasNothing() throws Exception {
        Path release = tmp.resolve("release");
        // two slots: loud's is reused by quiet, and quiet's by no one while waiting runs on
        Run run = pipeline.start("""
                name: going
                tasks:
                  - {id: waiting, command: [sh, -c, 'echo started; while [ ! -e %1$s ]; do sleep 0.05; done']}
                  - {id: loud, command: [sh, -c, 'echo said']}
                  - {id: quiet, command: ['true']}
                """.formatted(release), new RunOptions("multiprocessing", 2, null));
        Await.until("loud and quiet ended, waiting printed", Duration.ofSeconds(30),
                () -> run.count(TaskState.SUCCEEDED) == 2 && logs(run, "waiting").out().equals("started\n"));
        Result quiet = logs(run, "quiet");
        assertEquals(2, quiet.exit(), quiet.out());
        assertEquals("drover: task quiet of run " + run.id() + " printed nothing (SUCCEEDED)\n", quiet.err());
        assertEquals("said\n", logs(run, "loud").out());
        Result none = logs(run, "nobody");
        assertEquals(2, none.exit(), none.out());
        assertTrue(none.err().startsWith("drover: run " + run.id() + " has no task nobody"), none.err());

        Files.createFile(release);
        run.finished().get(60, TimeUnit.SECONDS);
        assertEquals("drover: task quiet of run " + run.id() + " printed nothing (SUCCEEDED)\n",
                logs(run, "quiet").err(), "the same once the run has ended");
    }

    private Result logs(Run run, String task) {
        return drover("logs", run.id(), task, "--runs-dir", pipeline.runsDir().toString());
    }
}
