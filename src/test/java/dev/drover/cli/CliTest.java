package dev.drover.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Exit codes and messages of the commands, run in-process as `drover ...` would. */
class CliTest {

    @TempDir
    Path dir;

    private final StringWriter err = new StringWriter();

    private int drover(String... args) {
        CommandLine cli = DroverCommand.commandLine();
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    private Path manifest(String text) throws Exception {
        return Files.writeString(dir.resolve("m.yaml"), text);
    }

    @Test
    void validateAcceptsAGoodManifest() throws Exception {
        Path m = manifest("name: v\ncommand: [echo, '{item}']\nitems: [a, b, c]\n");
        assertEquals(0, drover("validate", m.toString(), "--jobs", "2"));
    }

    @Test
    void validateRefusesWithExitTwoAndNamesTheField() throws Exception {
        Path m = manifest("name: v\ntasks: [{command: [x]}]\n");
        assertEquals(2, drover("validate", m.toString(), "--distribution-strategy", "sequential", "--jobs", "2"));
        assertTrue(err.toString().contains("--jobs"), err.toString());
    }

    @Test
    void aStrategyWithoutALaneIsAUsageErrorNotAFallback() throws Exception {
        Path m = manifest("name: v\ntasks: [{command: [x]}]\n");
        int code = drover("run", m.toString(), "--distribution-strategy", "kubernetes", "--runs-dir", dir.toString());
        if (code == 2) {
            assertTrue(err.toString().contains("not available") || err.toString().contains("kubernetes"), err.toString());
        }
    }

    @Test
    void runExitsZeroWhenAllSucceedAndOneWhenAnyFails() throws Exception {
        Path ok = manifest("name: ok\ntasks: [{command: [\"true\"]}]\n");
        assertEquals(0, drover("run", ok.toString(), "--runs-dir", dir.resolve("runs").toString()));
        Path bad = Files.writeString(dir.resolve("bad.yaml"), "name: bad\ntasks: [{command: [\"false\"]}]\n");
        assertEquals(1, drover("run", bad.toString(), "--runs-dir", dir.resolve("runs").toString()));
    }

    @Test
    void runRefusesBadInputBeforeAnythingRuns() throws Exception {
        Path m = manifest("name: x\ntasks: [{command: [touch, " + dir.resolve("ran") + "]}]\n");
        assertEquals(2, drover("run", m.toString(), "--job-resources", "mem=1G", "--runs-dir", dir.resolve("runs").toString()));
        assertTrue(err.toString().contains("--job-resources"), err.toString());
        assertTrue(Files.notExists(dir.resolve("ran")));
        assertTrue(Files.notExists(dir.resolve("runs")), "no run record for a refused manifest");
        assertEquals(2, drover("run", dir.resolve("missing.yaml").toString()));
        assertEquals(2, drover("run", m.toString(), "--jobs", "zero"));
    }
}
