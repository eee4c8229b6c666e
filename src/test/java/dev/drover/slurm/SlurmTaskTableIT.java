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

    /** Every file under a folder. */
    private static long files(Path dir) throws Exception {
        try (Stream<Path> all = Files.walk(dir)) {
            return all.filter(Files::isRegularFile).count();
        }
    }

    /**
     * slurm+batching of thousands of quiet tasks leaves files per element, not per task (one exit record each, logs
     * only for the tasks that printed), and a task still running shows its output so far through drover logs.
     */
    @Test
    void quietTasksLeaveFilesPerElementAndARunningTasksOutputIsShown() throws Exception {
        Path mark = tmp.resolve("last-started");
        Path release = tmp.resolve("release");
        String work = "[ $(($1 %% 500)) -ne 0 ] || echo task $1; [ $1 -ne %d ] || { echo so far; touch '%s';"
                + " while [ ! -e '%s' ]; do sleep 0.2; done; }";
        Path file = tmp.resolve("quiet.json");
        Files.writeString(file, JSON.writeValueAsString(Map.of("name", "quiet",
                "command", List.of("sh", "-c", work.formatted(TASKS - 1, mark, release), "sh", "{index}"),
                "range", Map.of("start", 0, "end", TASKS))));
        Path runs = tmp.resolve("runs");
        Path out = tmp.resolve("run.out");
        Process run = new ProcessBuilder(TestPipeline.HOME.resolve("bin/drover").toString(), "run", file.toString(),
                "--distribution-strategy", "slurm+batching", "--jobs", "8", "--job-resources",
                "mem=100M,time=00:10:00", "--runs-dir", runs.toString()).directory(tmp.toFile())
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        String runId;
        try {
            dev.drover.Await.until("the last task runs", java.time.Duration.ofMinutes(10), () -> Files.exists(mark));
            try (Stream<Path> dirs = Files.list(runs)) {
                runId = dirs.map(d -> d.getFileName().toString()).filter(n -> !n.startsWith(".")).findFirst()
                        .orElseThrow();
            }
            Result logs = drover("logs", runId, String.valueOf(TASKS - 1), "--runs-dir", runs.toString());
            assertEquals(new Result(0, "so far\n"), logs, "what a user sees while the task runs");
            Files.writeString(release, "");
            assertTrue(run.waitFor(10, TimeUnit.MINUTES), Files.readString(out));
        } finally {
            Files.writeString(release, "");
            run.destroy();
        }
        assertEquals(0, run.exitValue(), Files.readString(out));
        Path runDir = runs.resolve(runId);
        try (Stream<Path> logs = Files.list(runDir.resolve("logs"))) {
            assertEquals(List.of("0000.log", "0500.log", "1000.log", "1500.log", "2000.log", "2500.log", "2999.log"),
                    logs.filter(Files::isRegularFile).map(f -> f.getFileName().toString()).sorted().toList(),
                    "logs only for the tasks that printed");
        }
        assertEquals("task 1500\n", drover("logs", runId, "1500", "--runs-dir", runs.toString()).out());
        assertEquals("so far\n", Files.readString(runDir.resolve("logs/2999.log")));
        long files = files(runDir);
        System.out.println("files in the run directory of " + TASKS + " quiet slurm+batching tasks: " + files);
        assertTrue(files < 60, files + " files for 8 elements: they grow with the tasks");
    }
}
