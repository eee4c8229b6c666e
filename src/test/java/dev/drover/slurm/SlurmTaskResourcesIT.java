package dev.drover.slurm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.TestPipeline;
import dev.drover.camel.DroverRuntime;
import dev.drover.cli.DroverCommand;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.RunState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-task resources on the real cluster (issue 13 item 1): a list whose tasks need three signatures runs as three
 * arrays, each element submitted with its own task's mem and time (as SLURM's accounting records them), every task
 * once.
 */
@ExtendWith(SlurmClusterExtension.class)
class SlurmTaskResourcesIT {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** Three signatures interleaved: the run's (20M, 2 min), 40M with the run's time, 60M with 4 minutes. */
    private static final String MANIFEST = """
            name: pertask
            tasks:
              - {id: a1, command: [sh, -c, 'echo a1 once']}
              - {id: b1, command: [sh, -c, 'echo b1 once'], jobResources: "mem=40M"}
              - {id: c1, command: [sh, -c, 'echo c1 once'], jobResources: {mem: 60M, time: "4"}}
              - {id: a2, command: [sh, -c, 'echo a2 once']}
              - {id: b2, command: [sh, -c, 'echo b2 once'], jobResources: {mem: 40M}}
              - {id: c2, command: [sh, -c, 'echo c2 once'], jobResources: "time=4,mem=60M"}
              - {id: a3, command: [sh, -c, 'echo a3 once'], jobResources: {mem: 20M}}
            """;
    private static final String RUN_RESOURCES = "mem=20M,time=2";
    private static final Map<String, String> MEM = Map.of("a", "20M", "b", "40M", "c", "60M");
    private static final Map<String, String> TIME = Map.of("a", "00:02:00", "b", "00:02:00", "c", "00:04:00");

    @TempDir
    static Path tmp;
    static DroverRuntime runtime;

    @BeforeAll
    static void start() throws Exception {
        runtime = QuickSlurmRuntime.start(tmp.resolve("runs"));
    }

    @AfterAll
    static void stop() throws Exception {
        QuickSlurmRuntime.stop(runtime);
    }

    @Test
    void eachSignatureRunsAsItsOwnArrayWithItsTasksMemAndTimeAndEveryTaskOnce() throws Exception {
        Run run = TestPipeline.submit(runtime, RunPlan.resolve(ManifestReader.parse(MANIFEST),
                new RunOptions("slurm", null, RUN_RESOURCES)));
        assertEquals(RunState.SUCCEEDED, run.finished().get(240, TimeUnit.SECONDS));
        JsonNode tasks = JSON.readTree(run.dir().resolve("report.json").toFile()).get("tasks");
        assertEquals(7, tasks.size());
        Map<String, Set<String>> jobsBySignature = new TreeMap<>();
        Map<String, String> taskOfElement = new HashMap<>();
        for (JsonNode task : tasks) {
            String id = task.get("id").asText();
            assertEquals("SUCCEEDED", task.get("state").asText(), task.toString());
            assertEquals(1, task.get("attempts").asInt(), "once: " + task);
            assertEquals(id + " once\n", Files.readString(run.dir().resolve("logs/" + id + ".log")), "ran once");
            String backendId = task.get("backendId").asText();
            jobsBySignature.computeIfAbsent(id.substring(0, 1), s -> new TreeSet<>()).add(backendId.split("_")[0]);
            taskOfElement.put(backendId, id);
        }
        assertEquals(3, jobsBySignature.size());
        jobsBySignature.values().forEach(jobs -> assertEquals(1, jobs.size(), "one array per signature: "
                + jobsBySignature));
        assertEquals(3, jobsBySignature.values().stream().flatMap(Set::stream).distinct().count(), jobsBySignature
                .toString());

        // what SLURM itself recorded for each element: the requested memory and time limit of its task's signature
        for (String job : jobsBySignature.values().stream().flatMap(Set::stream).toList()) {
            String rows = SlurmRetriesIT.command("sacct", "-j", job, "-X", "-n", "-P", "-o", "JobID,ReqMem,Timelimit");
            assertTrue(!rows.isBlank(), "sacct knows array " + job);
            for (String row : rows.strip().split("\n")) {
                String[] f = row.split("\\|");
                String task = taskOfElement.get(f[0]);
                assertTrue(task != null, "an element drover submitted: " + row + " of " + taskOfElement);
                String signature = task.substring(0, 1);
                assertEquals(MEM.get(signature), f[1].replaceAll("[nc]$", ""), "ReqMem of " + task + ": " + row);
                assertEquals(TIME.get(signature), f[2], "Timelimit of " + task + ": " + row);
            }
        }
    }

    @Test
    void theDryRunWritesOneScriptPerSignatureWithItsOwnResources() throws Exception {
        Path manifest = Files.writeString(tmp.resolve("pertask.yaml"), MANIFEST);
        Path runs = tmp.resolve("dry-runs");
        StringWriter out = new StringWriter();
        picocli.CommandLine cli = DroverCommand.commandLine();
        cli.setOut(new PrintWriter(out));
        assertEquals(0, cli.execute("run", manifest.toString(), "--dry-run", "--distribution-strategy", "slurm",
                "--job-resources", RUN_RESOURCES, "--runs-dir", runs.toString()), out.toString());
        List<Path> scripts;
        try (Stream<Path> walk = Files.walk(runs)) {
            scripts = walk.filter(p -> p.getFileName().toString().equals("job.sbatch")).sorted().toList();
        }
        assertEquals(3, scripts.size(), out.toString());
        List<String> headers = List.of("--mem=\"20M\"|--time=\"2\"|--array=\"0-2\"",
                "--mem=\"40M\"|--time=\"2\"|--array=\"0-1\"", "--mem=\"60M\"|--time=\"4\"|--array=\"0-1\"");
        for (int i = 0; i < 3; i++) {
            String script = Files.readString(scripts.get(i));
            for (String directive : headers.get(i).split("\\|")) {
                assertTrue(script.contains("#SBATCH " + directive), scripts.get(i) + " lacks " + directive + ":\n"
                        + script);
            }
            assertTrue(out.toString().contains("group " + (i + 1) + " of 3"), out.toString());
        }
    }
}
