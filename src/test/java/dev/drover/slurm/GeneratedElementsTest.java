package dev.drover.slurm;

import dev.drover.HostileArgv;
import dev.drover.manifest.TaskGenerator;
import dev.drover.manifest.TaskSpec;
import dev.drover.manifest.JobResources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A range generator's script rebuilds each task from the template and the index: run by sh and bash as an array
 * element would be, every task gets exactly the argv, id, environment and working directory {@link TaskGenerator}
 * gives it, whether its array holds consecutive tasks (computed) or a retry's scattered ones (listed).
 */
class GeneratedElementsTest {

    @TempDir
    Path tmp;

    private TaskGenerator generator() throws Exception {
        Path printer = tmp.resolve("tools/a=b/show {it}");
        Files.createDirectories(printer.getParent());
        // what the task sees: drover's variables, the manifest's, its directory, then its argv, NUL-separated
        Files.writeString(printer, "#!/bin/sh\nprintf '%s\\000' \"$DROVER_TASK_ID|$DROVER_TASK_INDEX|$DROVER_ATTEMPT"
                + "|$MINE|$(pwd)\"\nfor a in \"$@\"; do printf '%s\\000' \"$a\"; done\n");
        assertTrue(printer.toFile().setExecutable(true));
        List<String> template = new ArrayList<>(List.of(printer.toString()));
        template.addAll(HostileArgv.everyKindOfTemplateArgument());
        // start and step make items negative, then positive; 12 tasks: ids have two digits
        return new TaskGenerator(template, null, -7, 3, 12, Map.of("MINE", "m'$1 \"x\""), "wd");
    }

    private void runAll(ArrayJob job, TaskGenerator generator, Duration timeout, String shell) throws Exception {
        Files.createDirectories(job.dir());
        Files.createDirectories(tmp.resolve("run/logs/running"));
        Files.createDirectories(tmp.resolve("wd"));
        String script = SbatchScript.render(job, tmp.resolve("run"), "g", JobResources.parse("mem=1G"), tmp, timeout,
                generator, null);
        assertFalse(script.contains("\r"), "sbatch refuses a script with \\r\\n in it");
        Files.writeString(job.script(), script);
        for (int e = 0; e < job.elements().size(); e++) {
            assertEquals("0:", run(shell, job, Integer.toString(e)), shell + " element " + e);
            for (TaskSpec task : job.elements().get(e)) {
                TaskSpec expected = generator.task(task.index());
                List<String> printed = HostileArgv.printed(tmp.resolve("run/logs/" + expected.id() + ".log"));
                assertEquals(expected.id() + "|" + expected.index() + "|" + job.attempt() + "|m'$1 \"x\"|"
                        + tmp.resolve("wd").toRealPath(), printed.get(0), shell);
                assertEquals(expected.command().subList(1, expected.command().size()),
                        printed.subList(1, printed.size()), shell + " task " + expected.id());
                assertEquals(0, ExitRecords.FILES.read(job.dir(), e).get(task.index()).code());
            }
        }
        for (String outside : List.of(Integer.toString(job.elements().size()), "-1", "x", "")) {
            assertTrue(run(shell, job, outside).startsWith("2:drover: array element"), "element '" + outside + "'");
        }
        assertFalse(Files.exists(tmp.resolve("pwned")));
    }

    private String run(String shell, ArrayJob job, String element) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(shell, job.script().toString()).directory(tmp.toFile())
                .redirectErrorStream(true);
        pb.environment().put("SLURM_ARRAY_TASK_ID", element);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return p.waitFor() + ":" + out;
    }

    private static List<List<TaskSpec>> elements(TaskGenerator generator, int[]... indices) {
        List<List<TaskSpec>> elements = new ArrayList<>();
        for (int[] element : indices) {
            elements.add(Arrays.stream(element).mapToObj(generator::task).toList());
        }
        return elements;
    }

    @Test
    void consecutiveBatchesAreComputedAndEveryArgumentIsByteExact() throws Exception {
        TaskGenerator generator = generator();
        ArrayJob job = new ArrayJob("r-1", "a0001", tmp.resolve("run/slurm/a0001"),
                elements(generator, new int[]{0, 1, 2, 3, 4}, new int[]{5, 6, 7, 8, 9}, new int[]{10, 11}), 1, 0);
        for (String shell : List.of("sh", "bash")) {
            for (Duration timeout : Arrays.asList(null, Duration.ofSeconds(30))) {
                runAll(job, generator, timeout, shell);
            }
        }
        String script = Files.readString(job.script());
        assertFalse(script.contains("set -- 0"), "no task is listed");
        assertTrue(script.length() < 8000, "the script does not grow with the tasks: " + script.length());
    }

    @Test
    void aLaterArrayOfSingleTasksStartsAtItsFirstTask() throws Exception {
        TaskGenerator generator = generator();
        int[][] singles = new int[9][];
        for (int i = 0; i < 9; i++) {
            singles[i] = new int[]{3 + i};
        }
        ArrayJob job = new ArrayJob("r-1", "a0002", tmp.resolve("run/slurm/a0002"), elements(generator, singles), 1, 2);
        runAll(job, generator, null, "sh");
        assertFalse(Files.exists(tmp.resolve("run/logs/02.log")), "task 2 belongs to another array");
    }

    @Test
    void aRetryOfScatteredTasksListsTheirIndicesAndAppendsToTheirLogs() throws Exception {
        TaskGenerator generator = generator();
        ArrayJob job = new ArrayJob("r-1", "a0003", tmp.resolve("run/slurm/a0003"),
                elements(generator, new int[]{11}, new int[]{2, 7}), 2, 0);
        Files.createDirectories(tmp.resolve("run/logs/running"));
        for (String shell : List.of("sh", "bash")) {
            for (String id : List.of("02", "07", "11")) { // attempt 2 appends: each shell starts from empty logs
                Files.writeString(tmp.resolve("run/logs/" + id + ".log"), "");
            }
            runAll(job, generator, null, shell);
        }
        assertTrue(Files.readString(job.script()).contains("1) set -- 2 7 ;;"));
        assertFalse(Files.exists(tmp.resolve("run/logs/00.log")));
    }

    @Test
    void theLogPathIsTheRunsOwn() throws Exception {
        TaskSpec task = generator().task(4);
        assertEquals(dev.drover.run.Run.logPath(task), "logs/" + task.id() + ".log",
                "GeneratedElements spells the log path out: keep them the same");
    }
}
