package dev.drover.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.TestPipeline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Integration test (after packaging): `bin/drover run` as a user starts it, stopped with SIGTERM (what Ctrl-C and `kill` do). */
class InterruptIT {

    @TempDir
    Path dir;

    @Test
    void sigtermKillsRunningTasksAndReportsCancelled() throws Exception {
        Path pids = Files.createDirectories(dir.resolve("pids"));
        Path manifest = Files.writeString(dir.resolve("long.yaml"), """
                name: long
                command: [sh, -c, 'echo $$ > %s/{index}; exec sleep 60']
                range: {end: 5}
                """.formatted(pids));
        Path runs = dir.resolve("runs");
        Process drover = new ProcessBuilder(TestPipeline.HOME.resolve("bin/drover").toString(), "run",
                manifest.toString(), "--jobs", "2", "--runs-dir", runs.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("out.txt").toFile()).start();
        for (int i = 0; i < 300 && countFiles(pids) < 2; i++) {
            Thread.sleep(100);
        }
        assertEquals(2, countFiles(pids), "two tasks running");
        drover.destroy(); // SIGTERM
        assertTrue(drover.waitFor(30, TimeUnit.SECONDS));
        assertEquals(Foreground.CANCELLED, drover.exitValue(), Files.readString(dir.resolve("out.txt")));
        Path runDir;
        try (Stream<Path> list = Files.list(runs)) {
            runDir = list.findFirst().orElseThrow();
        }
        JsonNode report = TestPipeline.report(runDir);
        assertEquals("CANCELLED", report.get("state").asText());
        assertEquals(5, report.get("counts").get("cancelled").asInt());
        for (Path pid : list(pids)) {
            long task = Long.parseLong(Files.readString(pid).trim());
            assertTrue(ProcessHandle.of(task).map(h -> !h.isAlive()).orElse(true), "task " + pid + " was killed");
        }
        assertTrue(Files.readString(dir.resolve("out.txt")).contains("CANCELLED"));
    }

    private static long countFiles(Path dir) throws Exception {
        return list(dir).size();
    }

    private static List<Path> list(Path dir) throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            return files.toList();
        }
    }
}
