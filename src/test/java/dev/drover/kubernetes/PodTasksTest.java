package dev.drover.kubernetes;

import dev.drover.HostileArgv;
import dev.drover.manifest.TaskGenerator;
import dev.drover.manifest.TaskSource;
import dev.drover.manifest.TaskSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Job's ConfigMap rebuilds a range generator's tasks from the template and the pod index, or holds a list's as a
 * compact table of which each pod takes its own row: run by sh and bash as the pod's wrapper runs it, every pod index
 * gets exactly the argv, id, environment, working directory and attempt of its task.
 */
class PodTasksTest {

    /** Variable names the script uses itself: a task's environment may set any of them. */
    private static final List<String> SCRIPT_NAMES = List.of("t", "a", "id", "e", "i", "n", "row", "line", "T",
            "item", "drover_nl", "drover_cr", "JOB_COMPLETION_INDEX");

    @TempDir
    Path tmp;

    /** A program that prints what the task sees: drover's variables, the manifest's MINE, its directory, its argv. */
    private Path printer() throws Exception {
        Path printer = tmp.resolve("tools/a=b/show {it}");
        Files.createDirectories(printer.getParent());
        Files.writeString(printer, "#!/bin/sh\nprintf '%s\\000' \"$DROVER_RUN_ID|$DROVER_TASK_ID|$DROVER_TASK_INDEX"
                + "|$DROVER_ATTEMPT|$MINE|$(pwd)\"\nfor a in \"$@\"; do printf '%s\\000' \"$a\"; done\n");
        assertTrue(printer.toFile().setExecutable(true));
        return printer;
    }

    private TaskGenerator generator() throws Exception {
        List<String> template = new ArrayList<>(List.of(printer().toString()));
        template.addAll(HostileArgv.everyKindOfTemplateArgument());
        Map<String, String> env = new LinkedHashMap<>();
        env.put("MINE", "m'$1 \"x\"\n\r");
        env.put("DROVER_TASK_ID", "not drover's");
        SCRIPT_NAMES.forEach(name -> env.put(name, "$(touch pwned)"));
        // start and step make items negative, then positive; 12 tasks: ids have two digits
        return new TaskGenerator(template, null, -7, 3, 12, env, "wd");
    }

    /** Tasks with every kind of argument and id, some with the Job's common environment and directory, some not. */
    private List<TaskSpec> listed() throws Exception {
        Path printer = printer();
        Map<String, String> common = new LinkedHashMap<>();
        common.put("MINE", "m'$1 \"x\"\n\r");
        common.put("DROVER_ATTEMPT", "not drover's");
        SCRIPT_NAMES.forEach(name -> common.put(name, "$(touch pwned)"));
        Map<String, String> own = new LinkedHashMap<>(common);
        own.put("MINE", "own \\ '");
        List<String> ids = List.of("00", "it's", "a b", "$(touch pwned)", "\"", "日本é", "-e", "x\\", "`z`", "*", "é'",
                "");
        List<String> args = HostileArgv.everyKindOfArgument();
        List<TaskSpec> tasks = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            List<String> argv = new ArrayList<>(List.of(printer.toString()));
            argv.addAll(i % 2 == 0 ? args : args.subList(i, args.size()));
            String workdir = i % 3 == 2 ? tmp.resolve("other dir").toString() : i % 3 == 1 ? null : "wd";
            tasks.add(new TaskSpec(i * 3 + 1, ids.get(i), argv, i % 4 == 3 ? own : common, workdir));
        }
        return tasks;
    }

    /** The ConfigMap's files as the kubelet mounts them. */
    private Path mount(Map<String, String> data) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("mnt"));
        try (var old = Files.list(dir)) {
            for (Path file : old.toList()) {
                Files.delete(file);
            }
        }
        for (Map.Entry<String, String> file : data.entrySet()) {
            Files.writeString(dir.resolve(file.getKey()), file.getValue());
        }
        return dir.resolve(PodTasks.SCRIPT);
    }

    /** Runs the script as pod {@code index} would: exit code, then what it printed. */
    private String pod(String shell, Path script, String index, String failures) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(shell, script.toString()).directory(tmp.toFile())
                .redirectOutput(tmp.resolve("out").toFile()).redirectErrorStream(true);
        pb.environment().put("JOB_COMPLETION_INDEX", index);
        if (failures != null) {
            pb.environment().put(IndexedJobBuilder.FAILURE_COUNT_ENV, failures);
        }
        pb.environment().put("PATH", tmp.resolve("bin") + ":" + System.getenv("PATH"));
        Process p = pb.start();
        int code = p.waitFor();
        return code + ":" + Files.readString(tmp.resolve("out"), StandardCharsets.UTF_8);
    }

    /** Every pod of the Job, under sh and bash: each gets its task exactly as the manifest gives it. */
    private void runAll(List<TaskSpec> tasks, TaskSource source, IntUnaryOperator before) throws Exception {
        Files.createDirectories(tmp.resolve("wd"));
        Files.createDirectories(tmp.resolve("other dir"));
        Path script = mount(PodTasks.data("r-1", source, tasks, before));
        for (String shell : List.of("sh", "bash")) {
            for (int i = 0; i < tasks.size(); i++) {
                TaskSpec task = tasks.get(i);
                String failures = i % 2 == 0 ? null : "2"; // the pod's failed attempts before it in its Job
                assertTrue(pod(shell, script, Integer.toString(i), failures).startsWith("0:"), shell + " pod " + i);
                List<String> printed = HostileArgv.printed(tmp.resolve("out"));
                int attempt = before.applyAsInt(task.index()) + (failures == null ? 0 : 2) + 1;
                Path dir = task.workdir() == null ? tmp : tmp.resolve(task.workdir());
                assertEquals("r-1|" + task.id() + "|" + task.index() + "|" + attempt + "|" + task.env().get("MINE")
                        + "|" + dir.toRealPath(), printed.get(0), shell + " pod " + i);
                assertEquals(task.command().subList(1, task.command().size()), printed.subList(1, printed.size()),
                        shell + " pod " + i);
            }
            for (String outside : List.of(Integer.toString(tasks.size()), "-1", "x", "", "99999999999999999999")) {
                assertTrue(pod(shell, script, outside, null).startsWith("2:drover: pod index"), "index '" + outside + "'");
            }
        }
        assertFalse(Files.exists(tmp.resolve("pwned")));
        assertFalse(Files.exists(tmp.resolve("wd/pwned")));
    }

    private static List<TaskSpec> tasks(TaskSource source, int... indexes) {
        List<TaskSpec> tasks = new ArrayList<>();
        for (int index : indexes) {
            tasks.add(source.task(index));
        }
        return tasks;
    }

    @Test
    void aGeneratorsJobOfConsecutiveTasksRebuildsEachFromTheTemplateAndThePodIndex() throws Exception {
        TaskGenerator generator = generator();
        List<TaskSpec> tasks = tasks(generator, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        runAll(tasks, generator, index -> 1);
        Map<String, String> data = PodTasks.data("r-1", generator, tasks, index -> 1);
        assertEquals(List.of(PodTasks.SCRIPT), List.copyOf(data.keySet()), "no task table");
        assertTrue(data.get(PodTasks.SCRIPT).contains("g $((3 + i)) 1\n"), data.get(PodTasks.SCRIPT));
    }

    @Test
    void aGeneratorsRetryOfScatteredTasksOrMixedAttemptsListsOnlyIndexesAndAttempts() throws Exception {
        TaskGenerator generator = generator();
        runAll(tasks(generator, 11, 2, 7), generator, index -> index == 2 ? 3 : 1);
        List<TaskSpec> consecutive = tasks(generator, 0, 1, 2);
        IntUnaryOperator mixed = index -> index == 1 ? 2 : 0;
        runAll(consecutive, generator, mixed);
        assertEquals("g 0 0\ng 1 2\ng 2 0\n", PodTasks.data("r-1", generator, consecutive, mixed).get(PodTasks.TABLE));
    }

    @Test
    void aListsTasksAreRowsOfATableOfWhichEachPodTakesItsOwn() throws Exception {
        List<TaskSpec> tasks = listed();
        runAll(tasks, null, index -> index % 3);
        String table = PodTasks.data("r-1", null, tasks, index -> 0).get(PodTasks.TABLE);
        assertEquals(tasks.size(), table.lines().count(), "one line per task, whatever its arguments hold");
        assertFalse(table.contains("\r"));
        List<String> rows = table.lines().toList();
        assertTrue(rows.get(1).startsWith("R 4 0 'it'\\''s' '' 'export "), "its own directory and env: " + rows.get(1));
        assertTrue(rows.get(6).startsWith("r 19 0 '-e' '" + tmp), "the Job's common ones: " + rows.get(6));
        // beyond the quoted id and arguments, a row costs its kind, manifest index and attempts before
        assertEquals("r 123456 2 'id-9' 'echo' 'hello world'\n", PodTasks.data("r-1", null, List.of(
                new TaskSpec(123456, "id-9", List.of("echo", "hello world"), Map.of(), null)), index -> 2)
                .get(PodTasks.TABLE));
    }

    @Test
    void aProgramWhosePathHoldsAnEqualsSignOrStartsWithADashGetsItsArgvByteExact() throws Exception {
        List<String> args = HostileArgv.everyKindOfArgument();
        Path equals = HostileArgv.argvPrinter(tmp.resolve("tools/a=b/tool=1"));
        HostileArgv.argvPrinter(tmp.resolve("bin/-dash=tool"));
        for (String program : List.of(equals.toString(), "-dash=tool")) {
            List<String> argv = new ArrayList<>(List.of(program));
            argv.addAll(args);
            Path script = mount(PodTasks.data("r", null, List.of(new TaskSpec(0, "t", argv, Map.of(), null)),
                    index -> 0));
            // bash is /bin/sh in many images: its exec takes options, dash's does not
            for (String shell : List.of("/bin/sh", "bash")) {
                assertTrue(pod(shell, script, "0", null).startsWith("0:"), program + " under " + shell);
                assertEquals(args, HostileArgv.printed(tmp.resolve("out")), program + " under " + shell);
            }
        }
    }

    @Test
    void aMissingWorkingDirectoryOrAFailingProgramGivesItsExitCode() throws Exception {
        Path script = mount(PodTasks.data("r", null, List.of(
                new TaskSpec(0, "gone", List.of("true"), Map.of(), tmp.resolve("no such dir").toString()),
                new TaskSpec(1, "fails", List.of("sh", "-c", "exit 3"), Map.of(), null),
                new TaskSpec(2, "dash", List.of("-no-such-program"), Map.of(), null)), index -> 0));
        assertTrue(pod("sh", script, "0", null).startsWith("127:"));
        assertEquals("3:", pod("sh", script, "1", null));
        assertTrue(pod("sh", script, "2", null).startsWith("127:"));
    }
}
