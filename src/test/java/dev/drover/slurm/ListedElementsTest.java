package dev.drover.slurm;

import dev.drover.HostileArgv;
import dev.drover.cluster.ShellWords;
import dev.drover.manifest.TaskGenerator;
import dev.drover.manifest.TaskSource;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A list's (or an items generator's) tasks are rows of a table beside the script: run by sh and bash as an array
 * element would be, every task gets exactly its argv, id, environment and working directory, each element reads
 * only its own rows, and the table costs a few bytes per task beyond the arguments.
 */
class ListedElementsTest {

    @TempDir
    Path tmp;

    /** Variable names the script uses itself: a task's environment may set any of them. */
    private static final List<String> SCRIPT_NAMES = List.of("t", "id", "wd", "e", "rc", "failed", "row", "D", "L",
            "T", "drover_timeout", "drover_nl", "drover_cr", "item", "i", "last");

    private Path printer() throws Exception {
        Path printer = tmp.resolve("tools/a=b/show it");
        Files.createDirectories(printer.getParent());
        // what the task sees: drover's variables, one of the manifest's, its directory, then its argv, NUL-separated
        Files.writeString(printer, "#!/bin/sh\nprintf '%s\\000' \"$DROVER_TASK_ID|$DROVER_TASK_INDEX|$DROVER_ATTEMPT"
                + "|$MINE|$id|$(pwd)\"\nfor a in \"$@\"; do printf '%s\\000' \"$a\"; done\n");
        assertTrue(printer.toFile().setExecutable(true));
        return printer;
    }

    /** Tasks with every kind of argument and id, some with the array's common environment and directory, some not. */
    private List<TaskSpec> tasks() throws Exception {
        Path printer = printer();
        Map<String, String> common = new LinkedHashMap<>();
        common.put("MINE", "m'$1 \"x\"\n\r");
        common.put("DROVER_TASK_ID", "not drover's");
        SCRIPT_NAMES.forEach(name -> common.put(name, "$(touch pwned)"));
        Map<String, String> own = new LinkedHashMap<>(common);
        own.put("MINE", "own \\ '");
        List<String> ids = List.of("00", "it's", "a b", "$(touch pwned)", "\"", "日本é", "-e", "x\\", "`z`", "*", "é'");
        List<String> args = HostileArgv.everyKindOfArgument();
        List<TaskSpec> tasks = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            List<String> argv = new ArrayList<>(List.of(printer.toString()));
            argv.addAll(i % 2 == 0 ? args : args.subList(i, args.size()));
            String workdir = i % 3 == 2 ? "other dir" : "wd";
            tasks.add(new TaskSpec(i * 3 + 1, ids.get(i), argv, i % 4 == 3 ? own : common, workdir));
        }
        return tasks;
    }

    private static List<List<TaskSpec>> batches(List<TaskSpec> tasks, int per) {
        List<List<TaskSpec>> elements = new ArrayList<>();
        for (int from = 0; from < tasks.size(); from += per) {
            elements.add(tasks.subList(from, Math.min(tasks.size(), from + per)));
        }
        return elements;
    }

    private void runAll(ArrayJob job, TaskSource source, Duration timeout, String shell) throws Exception {
        Files.createDirectories(job.dir());
        Files.createDirectories(tmp.resolve("run/logs/running"));
        Files.createDirectories(tmp.resolve("wd"));
        Files.createDirectories(tmp.resolve("other dir"));
        SbatchScript.write(job, tmp.resolve("run"), "l", JobResources.parse("mem=1G"), tmp, timeout, source, null);
        String script = Files.readString(job.script());
        assertFalse(script.contains("\r"), "sbatch refuses a script with \\r\\n in it");
        for (List<TaskSpec> element : job.elements()) {
            for (TaskSpec task : element) {
                assertFalse(script.contains(task.index() + " " + ShellWords.quote(task.id())),
                        "no task is spelled out in the script: " + task.id());
            }
        }
        for (int e = 0; e < job.elements().size(); e++) {
            assertEquals("0:", run(shell, job, Integer.toString(e)), shell + " element " + e);
            for (TaskSpec task : job.elements().get(e)) {
                List<String> printed = HostileArgv.printed(tmp.resolve("run/logs/" + task.id() + ".log"));
                assertEquals(task.id() + "|" + task.index() + "|" + job.attempt() + "|" + task.env().get("MINE") + "|"
                        + task.env().getOrDefault("id", "") + "|" + tmp.resolve(task.workdir()).toRealPath(),
                        printed.get(0), shell + " task " + task.id());
                assertEquals(task.command().subList(1, task.command().size()), printed.subList(1, printed.size()),
                        shell + " task " + task.id());
                assertEquals(0, ExitRecords.FILES.read(job.dir(), e).get(task.index()).code());
            }
        }
        for (String outside : List.of(Integer.toString(job.elements().size()), "-1", "x", "", "99999999999999999999")) {
            assertTrue(run(shell, job, outside).startsWith("2:drover: array element"), "element '" + outside + "'");
        }
        assertFalse(Files.exists(tmp.resolve("pwned")));
        assertFalse(Files.exists(tmp.resolve("wd/pwned")));
    }

    private String run(String shell, ArrayJob job, String element) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(shell, job.script().toString()).directory(tmp.toFile())
                .redirectErrorStream(true);
        pb.environment().put("SLURM_ARRAY_TASK_ID", element);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return p.waitFor() + ":" + out;
    }

    private ArrayJob job(String key, List<List<TaskSpec>> elements, int attempt) {
        return new ArrayJob("r-1", key, tmp.resolve("run/slurm/" + key), elements, attempt, 0);
    }

    @Test
    void batchesOfListedTasksRunByteExactUnderShAndBash() throws Exception {
        ArrayJob job = job("a0001", batches(tasks(), 4), 1);
        for (String shell : List.of("sh", "bash")) {
            for (Duration timeout : Arrays.asList(null, Duration.ofSeconds(30))) {
                runAll(job, null, timeout, shell);
            }
        }
    }

    @Test
    void oneTaskPerElementAndARetryThatAppendsToItsLogs() throws Exception {
        List<TaskSpec> tasks = tasks();
        runAll(job("a0001", batches(tasks, 1), 1), null, null, "sh");
        ArrayJob retry = job("a0002", batches(List.of(tasks.get(7), tasks.get(2)), 1), 2);
        for (String shell : List.of("sh", "bash")) {
            for (TaskSpec task : retry.elements().stream().flatMap(List::stream).toList()) {
                Files.writeString(tmp.resolve("run/logs/" + task.id() + ".log"), ""); // each shell appends to empty logs
            }
            runAll(retry, null, null, shell);
        }
    }

    @Test
    void anElementReadsOnlyItsOwnRows() throws Exception {
        ArrayJob job = job("a0001", batches(tasks(), 3), 1);
        runAll(job, null, null, "sh");
        // everything outside element 1's rows (and the index) becomes a command that would leave a mark if run
        Path table = ListedElements.table(job);
        byte[] bytes = Files.readAllBytes(table);
        String index = new String(bytes, 0, ListedElements.OFFSET_WIDTH * (job.elements().size() + 1),
                StandardCharsets.US_ASCII);
        String[] offsets = index.strip().split("\\s+");
        int from = Integer.parseInt(offsets[1]);
        int to = Integer.parseInt(offsets[2]);
        byte[] poison = ("touch '" + tmp.resolve("pwned") + "'\n").getBytes(StandardCharsets.UTF_8);
        for (int i = index.length(); i < bytes.length; i++) {
            if (i < from || i >= to) {
                bytes[i] = poison[(i - index.length()) % poison.length];
            }
        }
        Files.write(table, bytes);
        for (String shell : List.of("sh", "bash")) {
            assertEquals("0:", run(shell, job, "1"), shell);
        }
        assertFalse(Files.exists(tmp.resolve("pwned")));
    }

    @Test
    void anItemsGeneratorsTasksAreRowsAndTheirArgvIsTheGenerators() throws Exception {
        Path printer = printer();
        List<String> items = new ArrayList<>(HostileArgv.everyKindOfArgument());
        items.addAll(List.of("{index}", "{item}", "ex}", "x{index}y"));
        TaskGenerator generator = new TaskGenerator(List.of(printer.toString(), "{item}", "{ind{item}", "<{index}>"),
                List.copyOf(items), 0, 1, items.size(), Map.of("MINE", "m"), "wd");
        List<TaskSpec> tasks = new ArrayList<>();
        for (int i = 0; i < generator.size(); i++) {
            tasks.add(generator.task(i));
        }
        ArrayJob job = job("a0001", batches(tasks, 5), 1);
        for (String shell : List.of("sh", "bash")) {
            runAll(job, generator, null, shell);
        }
        String firstOffset = String.format("%11d\n", ListedElements.OFFSET_WIDTH * (job.elements().size() + 1));
        assertTrue(Files.readString(ListedElements.table(job)).startsWith(firstOffset), "the index comes first");
    }

    @Test
    void theTableCostsAFewBytesPerTaskBeyondItsArguments() throws Exception {
        List<TaskSpec> tasks = new ArrayList<>();
        long argumentBytes = 0;
        for (int i = 0; i < 5000; i++) {
            List<String> argv = List.of("/opt/tools/convert", "--chunk", "s3://bucket/chunks/" + i, "--out", "o" + i);
            argumentBytes += argv.stream().mapToInt(a -> a.getBytes(StandardCharsets.UTF_8).length).sum();
            tasks.add(new TaskSpec(i, "chunk-" + i, argv, Map.of("OMP_NUM_THREADS", "1"), null));
        }
        ArrayJob job = job("a0001", batches(tasks, 1), 1);
        Files.createDirectories(job.dir());
        SbatchScript.write(job, tmp.resolve("run"), "l", JobResources.NONE, tmp, null, null, null);
        long perTask = (Files.size(ListedElements.table(job)) - argumentBytes) / tasks.size();
        // 12 (its offset) + "r 4999 'chunk-4999'" + 3 per argument (two quotes, a space) + a newline
        assertTrue(perTask <= 12 + 20 + 5 * 3 + 1, "bytes per task beyond the arguments: " + perTask);
        assertTrue(Files.size(job.script()) < 4000, "the script does not grow with the tasks: " + Files.size(job.script()));
    }
}
