package dev.drover.cli;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.Serialization;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `drover validate` and `drover run --dry-run` show one group per resource signature. */
class ResourceGroupsCliTest {

    @TempDir
    Path dir;

    private static final String MANIFEST = """
            name: groups
            image: busybox:1.36
            tasks:
              - {id: a1, command: [echo, a1]}
              - {id: b1, command: [echo, b1], jobResources: "mem=200M"}
              - {id: c1, command: [echo, c1], jobResources: {mem: 300M, time: "10"}}
              - {id: a2, command: [echo, a2]}
              - {id: b2, command: [echo, b2], jobResources: {mem: 200M}}
            """;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    /** Runs `drover ARGS` in-process; what it printed to System.out (validate's) and to picocli's out. */
    private String drover(int expectedExit, String... args) {
        PrintStream systemOut = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
            CommandLine cli = DroverCommand.commandLine();
            cli.setOut(new PrintWriter(out, true));
            cli.setErr(new PrintWriter(err, true));
            assertEquals(expectedExit, cli.execute(args), err.toString());
        } finally {
            System.setOut(systemOut);
        }
        return printed.toString(StandardCharsets.UTF_8) + out;
    }

    @Test
    void validateListsEachGroupWithItsTasksAndArraysOrJobs() throws Exception {
        Path m = Files.writeString(dir.resolve("m.yaml"), MANIFEST);
        String slurm = drover(0, "validate", m.toString(), "--distribution-strategy", "slurm",
                "--job-resources", "mem=100M,time=5");
        assertTrue(slurm.contains("3 resource groups, arrays of at most"), slurm);
        assertTrue(slurm.contains("group 1 of 3 ({mem=100M, time=5}): 2 tasks; 1 array"), slurm);
        assertTrue(slurm.contains("group 2 of 3 ({mem=200M, time=5}): 2 tasks; 1 array"), slurm);
        assertTrue(slurm.contains("group 3 of 3 ({mem=300M, time=10}): 1 task; 1 array"), slurm);

        String local = drover(0, "validate", m.toString(), "--distribution-strategy", "multiprocessing");
        assertTrue(local.contains("note: the tasks' own jobResources have no effect on multiprocessing"), local);
        assertTrue(!local.contains("group 1"), local);
    }

    @Test
    void aStrategyRuleBrokenByATasksResourcesNamesThatTask() throws Exception {
        Path m = Files.writeString(dir.resolve("m.yaml"), MANIFEST.replace("{mem: 300M, time: \"10\"}",
                "{partition: gpu}"));
        drover(2, "validate", m.toString(), "--distribution-strategy", "kubernetes");
        assertTrue(err.toString().contains("tasks[2].jobResources: 'partition' has no meaning on Kubernetes"),
                err.toString());
    }

    @Test
    void theKubernetesDryRunWritesEachGroupsJobsWithTheirOwnMemory() throws Exception {
        Path m = Files.writeString(dir.resolve("m.yaml"), MANIFEST);
        Path runs = dir.resolve("runs");
        String printed = drover(0, "run", m.toString(), "--dry-run", "--distribution-strategy", "kubernetes",
                "--runs-dir", runs.toString());
        assertTrue(printed.contains("group 3 of 3"), printed);
        Map<String, List<String>> tasksByMemory = new TreeMap<>();
        try (Stream<Path> files = Files.walk(runs)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).toList()) {
                List<HasMetadata> docs = new ArrayList<>();
                for (String doc : Files.readString(file).split("(?m)^---$")) {
                    if (doc.lines().anyMatch(l -> !l.isBlank() && !l.startsWith("#"))) {
                        docs.add(Serialization.unmarshal(doc));
                    }
                }
                Job job = (Job) docs.get(1);
                ResourceRequirements asked = job.getSpec().getTemplate().getSpec().getContainers().get(0)
                        .getResources();
                Quantity memory = asked == null || asked.getLimits() == null ? null : asked.getLimits().get("memory");
                // the ConfigMap's task table: one row per task, "r INDEX ATTEMPTS 'ID' 'echo' 'ID'"
                List<String> tasks = ((ConfigMap) docs.get(0)).getData().get("tasks").lines()
                        .map(row -> row.split(" ")[3].replace("'", "")).sorted().toList();
                tasksByMemory.put(String.valueOf(memory), tasks);
            }
        }
        assertEquals(3, tasksByMemory.size(), "one Job per signature: " + tasksByMemory);
        assertEquals(List.of("a1", "a2"), tasksByMemory.get("null"), tasksByMemory.toString());
        assertEquals(List.of("b1", "b2"), tasksByMemory.values().stream().filter(t -> t.contains("b1")).findFirst()
                .orElseThrow());
        assertTrue(tasksByMemory.keySet().stream().anyMatch(k -> k.startsWith("300")), tasksByMemory.toString());
    }
}
