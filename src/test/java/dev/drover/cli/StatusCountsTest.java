package dev.drover.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static dev.drover.cli.SubmitStatusCancelTest.drover;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `drover status RUN_ID` of a finished run takes its escalated and requeued counts from report.json (a million-task
 * run's journal took seconds to replay for them); a report without them falls back to the journal.
 */
class StatusCountsTest {

    @TempDir
    Path tmp;

    @Test
    void aFinishedRunsCountsComeFromItsReport() throws Exception {
        String runs = tmp.resolve("runs").toString();
        Path manifest = Files.writeString(tmp.resolve("m.yaml"), "name: s\ncommand: [\"true\"]\nrange: {end: 3}\n");
        assertEquals(0, drover("run", manifest.toString(), "--runs-dir", runs).exit());
        Path runDir;
        try (Stream<Path> dirs = Files.list(tmp.resolve("runs"))) {
            runDir = dirs.findFirst().orElseThrow();
        }
        String id = runDir.getFileName().toString();
        Path report = runDir.resolve("report.json");
        String written = Files.readString(report);
        assertTrue(written.contains("\"escalated\":0,\"requeued\":0"), written);

        // what the report says is what status shows: the journal has no escalate or rerun line
        Files.writeString(report, written.replace("\"escalated\":0,\"requeued\":0", "\"escalated\":2,\"requeued\":1"));
        String status = drover("status", id, "--runs-dir", runs).out();
        assertTrue(status.contains("3 succeeded, 0 failed, 0 cancelled, 0 running, 0 pending, 2 escalated, 1 requeued"),
                status);

        Files.writeString(report, written.replace(",\"escalated\":0,\"requeued\":0", ""));
        status = drover("status", id, "--runs-dir", runs).out();
        assertTrue(status.contains("0 running, 0 pending\n"), "from the journal: none " + status);
    }
}
