package dev.drover.slurm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.TestPipeline;
import dev.drover.run.RunReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A list manifest and a range generator of a few thousand tasks each, run by bin/drover on the real test cluster
 * through the compact scripts (a task table per array for the list, the template and the index for the generator),
 * every task's log read back through {@code drover logs RUN_ID TASK_ID} as a user would.
 */
@ExtendWith(SlurmClusterExtension.class)
class SlurmTaskTableIT {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int TASKS = 3000;

    @TempDir
    Path tmp;

    record Result(int exit, String out) {
    }

    private Result drover(String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(TestPipeline.HOME.resolve("bin/drover").toString()));
        argv.addAll(List.of(args));
        Path out = Files.createTempFile(tmp, "drover", ".out");
        Process p = new ProcessBuilder(argv).directory(tmp.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile()).start();
        if (!p.waitFor(15, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("drover " + String.join(" ", args) + " did not finish in 15 minutes:\n"
                    + Files.readString(out));
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    }

    /** Runs the manifest with slurm+batching (8 elements of 375 tasks), checks every task, returns the run's folder. */
    private Path runAll(String manifest, Map<String, String> expectedLogs) throws Exception {
        Path file = tmp.resolve("m.json");
        Files.writeString(file, manifest);
        Path runs = tmp.resolve("runs");
        Result run = drover("run", file.toString(), "--distribution-strategy", "slurm+batching", "--jobs", "8",
                "--job-resources", "mem=100M,time=00:10:00", "--runs-dir", runs.toString());
        assertEquals(0, run.exit(), run.out());
        Path runDir;
        try (Stream<Path> dirs = Files.list(runs)) {
            runDir = dirs.filter(d -> !d.getFileName().toString().startsWith(".")).findFirst().orElseThrow();
        }
        JsonNode report = JSON.readTree(runDir.resolve(RunReport.FILE).toFile());
        assertEquals("SUCCEEDED", report.get("state").asText());
        assertEquals(TASKS, report.get("counts").get("succeeded").asInt(), report.get("counts").toString());
        String runId = runDir.getFileName().toString();
        int checked = 0;
        for (Map.Entry<String, String> task : expectedLogs.entrySet()) {
            if (checked++ % 97 != 0 && checked != expectedLogs.size()) {
                continue; // every 97th task and the last: a JVM start per `drover logs` call
            }
            Result logs = drover("logs", runId, task.getKey(), "--runs-dir", runs.toString());
            assertEquals(0, logs.exit(), logs.out());
            assertEquals(task.getValue(), logs.out(), "drover logs " + runId + " " + task.getKey());
        }
        for (Map.Entry<String, String> task : expectedLogs.entrySet()) {
            assertEquals(task.getValue(), Files.readString(runDir.resolve("logs/" + task.getKey() + ".log")),
                    task.getKey());
        }
        Path array = runDir.resolve("slurm/a0001");
        assertTrue(Files.size(array.resolve("job.sbatch")) < 4096, "the script does not grow with the tasks");
        return runDir;
    }

    @Test
    void aListOfThousandsOfTasksRunsFromItsTaskTable() throws Exception {
        List<Map<String, Object>> tasks = new ArrayList<>();
        Map<String, String> expected = new LinkedHashMap<>();
        for (int i = 0; i < TASKS; i++) {
            String id = "chunk " + i + (i % 3 == 0 ? " it's" : "");
            String arg = i % 5 == 0 ? "a\nb '$(x)' \\ \"" + i : "s3://bucket/" + i;
            Map<String, Object> task = new LinkedHashMap<>();
            task.put("id", id);
            task.put("command", List.of("printf", "%s|%s|%s\\n", arg, "", "-e"));
            tasks.add(task);
            expected.put(id, arg + "||-e\n");
        }
        Path runDir = runAll(JSON.writeValueAsString(Map.of("name", "table", "tasks", tasks)), expected);
        Path table = runDir.resolve("slurm/a0001/" + ListedElements.TABLE);
        assertTrue(Files.size(table) < 100L * TASKS, "a few bytes per task: " + Files.size(table));
    }

    @Test
    void aGeneratorOfThousandsOfTasksIsRebuiltFromItsTemplate() throws Exception {
        Map<String, String> expected = new LinkedHashMap<>();
        for (int i = 0; i < TASKS; i++) {
            expected.put(String.format("%04d", i), "item " + (10 + 2 * i) + " index " + i + "\n");
        }
        runAll(JSON.writeValueAsString(Map.of("name", "generated",
                "command", List.of("printf", "item %s index %s\\n", "{item}", "{index}"),
                "range", Map.of("start", 10, "end", 10 + 2 * TASKS, "step", 2))), expected);
    }
}
