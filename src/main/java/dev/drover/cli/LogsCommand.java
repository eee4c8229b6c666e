package dev.drover.cli;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.local.TaskLogs;
import dev.drover.manifest.ManifestReader;
import dev.drover.manifest.TaskSource;
import dev.drover.run.Journal;
import dev.drover.run.JournalEntry;
import dev.drover.run.RunRegistry;
import dev.drover.run.RunReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/** `drover logs`: the output of a run's tasks, without opening report.json to find it. */
@Command(name = "logs", mixinStandardHelpOptions = true,
        description = {"Print the log (stdout and stderr) of one task of a run, or of all its tasks that have one,"
                + " each under a '==> TASK (STATE) PATH <==' line; --failed keeps only the failed ones.",
                "Works on finished runs and on runs still going (from their journal)."})
final class LogsCommand implements Callable<Integer> {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Mixin
    RunArgument run;

    @Parameters(index = "1", arity = "0..1", paramLabel = "TASK_ID", description = "One task (default: all).")
    String taskId;

    @Option(names = "--failed", description = "Only the tasks that failed.")
    boolean failed;

    /** A task's id, its state as report.json names it, and its log path relative to the run directory. */
    record TaskLog(String id, String state, String log) {
    }

    @Override
    public Integer call() throws IOException {
        Path runDir = run.dir();
        String runId = run.id;
        OutputStream out = System.out;
        if (taskId != null) {
            Path log = runDir.resolve("logs").resolve(taskId).normalize();
            Path file = log.getParent().equals(runDir.resolve("logs")) ? TaskLogs.find(runDir, taskId) : null;
            String state = null;
            if (file == null || isEmpty(file)) {
                // no output, or none yet: an ended task's slot stays named for it until the slot is reused
                state = stateOf(runDir, taskId);
                if (state != null && !state.equals("RUNNING")) {
                    file = TaskLogs.find(runDir, taskId); // it may have printed just before it ended
                    file = file != null && TaskLogs.stillRuns(file, taskId) && !isEmpty(file) ? file : null;
                }
            }
            if (!copy(runDir, file, taskId, out)) {
                System.err.println("drover: " + noLog(runId, taskId, state == null ? stateOf(runDir, taskId) : state));
                return ErrorHandler.USAGE;
            }
            out.flush();
            return 0;
        }
        int[] shown = {0};
        forEachTask(runDir, task -> {
            Path log = runDir.resolve(task.log());
            if (failed && !task.state().equals("FAILED")) {
                return;
            }
            if (!Files.isRegularFile(log)) {
                if (!task.state().equals("RUNNING")) {
                    return;
                }
                try {
                    log = TaskLogs.find(runDir, task.id()); // a running local task's output so far
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                if (log == null) {
                    return;
                }
            }
            try {
                String header = "==> " + task.id() + " (" + task.state() + ") " + log + " <==\n";
                out.write(header.getBytes(StandardCharsets.UTF_8));
                Files.copy(log, out);
                if (!FailedTasks.endsWithNewline(log)) {
                    out.write('\n'); // the next header starts on its own line
                }
                out.flush();
                shown[0]++;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        if (shown[0] == 0) {
            System.err.println("drover: run " + runId + " has no "
                    + (failed ? "failed tasks with output" : "task output yet"));
        }
        return 0;
    }

    private static boolean isEmpty(Path file) {
        try {
            return Files.size(file) == 0;
        } catch (IOException gone) {
            return false; // moved to the task's own log as it ended: copy finds it there
        }
    }

    /** The task's state as report.json names it (RUNNING while it runs), or null if the run has no such task. */
    private static String stateOf(Path runDir, String taskId) throws IOException {
        String[] state = {null};
        forEachTask(runDir, task -> {
            if (task.id().equals(taskId)) {
                state[0] = task.state();
            }
        });
        return state[0];
    }

    /** Why a task has no log to show, from its state. */
    private static String noLog(String runId, String taskId, String state) {
        if (state == null) {
            return "run " + runId + " has no task " + taskId + " (drover logs " + runId + " lists those with output)";
        }
        return "task " + taskId + " of run " + runId + switch (state) {
            case "PENDING" -> " has not started yet";
            case "RUNNING" -> " has printed nothing yet";
            default -> " printed nothing (" + state + ")";
        };
    }

    /**
     * Copies a log {@link TaskLogs#find} gave. A running task's slot may change hands while it is looked at: the
     * task's own log then holds its output, if it printed any (false when there is none).
     */
    private static boolean copy(Path runDir, Path file, String taskId, OutputStream out) throws IOException {
        for (int tries = 0; file != null && tries < 2; tries++) {
            if (TaskLogs.stillRuns(file, taskId)) {
                try {
                    Files.copy(file, out);
                    return true;
                } catch (java.nio.file.NoSuchFileException moved) {
                    // the task ended meanwhile
                }
            }
            file = TaskLogs.find(runDir, taskId);
        }
        return false;
    }

    /** The rows of a large run's tasks.jsonl (after its header line): id and state are its first and third columns. */
    private static void forEachRow(Path file, Consumer<TaskLog> each) throws IOException {
        try (JsonParser json = JSON.createParser(file.toFile())) {
            json.nextToken();
            json.skipChildren(); // the header
            while (json.nextToken() == JsonToken.START_ARRAY) {
                JsonNode row = JSON.readTree(json);
                String id = row.path(0).asText();
                each.accept(new TaskLog(id, row.path(2).asText(), "logs/" + id + ".log"));
            }
        }
    }

    /** Every task of the run in order: from report.json once the run has finished, else from its journal. */
    static void forEachTask(Path runDir, Consumer<TaskLog> each) throws IOException {
        Path report = runDir.resolve(RunReport.FILE);
        if (Files.isRegularFile(report)) {
            try (JsonParser json = JSON.createParser(report.toFile())) {
                json.nextToken();
                while (json.nextToken() == JsonToken.FIELD_NAME) {
                    String field = json.currentName();
                    json.nextToken();
                    if (field.equals("tasks")) {
                        while (json.nextToken() == JsonToken.START_OBJECT) {
                            JsonNode task = JSON.readTree(json);
                            each.accept(new TaskLog(task.path("id").asText(), task.path("state").asText(),
                                    task.path("log").asText()));
                        }
                        return;
                    } else if (field.equals("tasksFile")) {
                        forEachRow(runDir.resolve(RunReport.TASKS_FILE), each);
                        return;
                    }
                    json.skipChildren();
                }
            }
            return;
        }
        TaskSource tasks = ManifestReader.readAccepted(runDir.resolve(
                JSON.readTree(runDir.resolve(RunRegistry.PLAN_FILE).toFile()).path("manifest").asText())).tasks();
        String[] states = new String[tasks.size()];
        Journal.forEachEntry(runDir, entry -> {
            try {
                if (entry instanceof JournalEntry.Start start && states[start.index()] == null) {
                    states[start.index()] = "RUNNING";
                } else if (entry instanceof JournalEntry.End end) {
                    states[end.index()] = end.state().name();
                }
            } catch (RuntimeException misfit) {
                // an entry that does not fit the run (a task index beyond it): skipped
            }
        });
        for (int i = 0; i < states.length; i++) {
            each.accept(new TaskLog(tasks.task(i).id(), states[i] == null ? "PENDING" : states[i],
                    dev.drover.run.Run.logPath(tasks.task(i))));
        }
    }
}
