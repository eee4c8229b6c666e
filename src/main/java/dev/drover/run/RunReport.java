package dev.drover.run;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.MinimalPrettyPrinter;
import dev.drover.manifest.TaskSource;
import dev.drover.manifest.TaskSpec;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.List;

/**
 * Writes report.json: the run's outcome and one entry per task, compact (no indentation) and streamed, so a large
 * run needs no second copy of its tasks in memory. A run of more than {@link #INLINE_TASKS} tasks keeps its tasks in
 * {@link #TASKS_FILE} instead, one JSON array per line under a header line naming the columns (a million tasks: about
 * 85 MB instead of 175 MB of objects), and report.json names that file in "tasksFile". Each file is written to a
 * temporary file first and renamed, tasks.jsonl before report.json, so that a reader never sees half of either.
 */
public final class RunReport {

    public static final String FILE = "report.json";
    public static final String TASKS_FILE = "tasks.jsonl";
    /** Up to this many tasks (about 17 MB) are listed in report.json itself. */
    public static final int INLINE_TASKS = 100_000;
    /** The columns of tasks.jsonl's rows, in order; a row omits its trailing nulls. */
    public static final List<String> COLUMNS = List.of("id", "index", "state", "exitCode", "attempts", "startedAt",
            "finishedAt", "reason", "backendId", "backendState");
    private static final JsonFactory JSON = new JsonFactory();

    private RunReport() {
    }

    static void write(Run run, RunState state) {
        write(run, state, INLINE_TASKS);
    }

    static void write(Run run, RunState state, int inlineTasks) {
        TaskSource tasks = run.plan().manifest().tasks();
        boolean inline = tasks.size() <= inlineTasks;
        if (!inline) {
            replace(run.dir().resolve(TASKS_FILE), out -> writeRows(run, tasks, out));
        }
        replace(run.dir().resolve(FILE), out -> {
            try (JsonGenerator json = JSON.createGenerator(out, JsonEncoding.UTF8)) {
                json.writeStartObject();
                json.writeStringField("runId", run.id());
                json.writeStringField("name", run.plan().manifest().name());
                json.writeStringField("strategy", run.strategyName());
                json.writeStringField("state", state.name());
                json.writeStringField("acceptedAt", Instant.ofEpochMilli(run.acceptedAt()).toString());
                json.writeStringField("finishedAt", Instant.now().toString());
                json.writeObjectFieldStart("counts");
                json.writeNumberField("succeeded", run.count(TaskState.SUCCEEDED));
                json.writeNumberField("failed", run.count(TaskState.FAILED));
                json.writeNumberField("cancelled", run.count(TaskState.CANCELLED));
                json.writeEndObject();
                if (inline) {
                    writeObjects(run, tasks, json);
                } else {
                    json.writeStringField("tasksFile", TASKS_FILE);
                }
                json.writeEndObject();
            }
        });
    }

    private static void writeObjects(Run run, TaskSource tasks, JsonGenerator json) throws IOException {
        Timestamps time = new Timestamps();
        json.writeArrayFieldStart("tasks");
        for (int i = 0; i < tasks.size(); i++) {
            TaskSpec task = tasks.task(i);
            Run.TaskRecord record = run.record(i);
            json.writeStartObject();
            json.writeStringField("id", task.id());
            json.writeNumberField("index", i);
            json.writeStringField("state", record.state().name());
            json.writeFieldName("exitCode");
            writeExitCode(json, record.exitCode());
            json.writeNumberField("attempts", record.attempts());
            json.writeFieldName("startedAt");
            time.write(json, record.startedAt());
            json.writeFieldName("finishedAt");
            time.write(json, record.finishedAt());
            json.writeStringField("log", Run.logPath(task));
            writeIfPresent(json, "reason", record.reason());
            writeIfPresent(json, "backendId", record.backendId());
            writeIfPresent(json, "backendState", record.backendState());
            json.writeEndObject();
        }
        json.writeEndArray();
    }

    /** tasks.jsonl: a header line, then one array per task in index order (see {@link #COLUMNS}). */
    private static void writeRows(Run run, TaskSource tasks, OutputStream out) throws IOException {
        Timestamps time = new Timestamps();
        try (JsonGenerator json = JSON.createGenerator(out, JsonEncoding.UTF8)) {
            json.setPrettyPrinter(new MinimalPrettyPrinter("\n"));
            json.writeStartObject();
            json.writeArrayFieldStart("columns");
            for (String column : COLUMNS) {
                json.writeString(column);
            }
            json.writeEndArray();
            json.writeStringField("log", "logs/<id>.log");
            json.writeEndObject();
            for (int i = 0; i < tasks.size(); i++) {
                Run.TaskRecord record = run.record(i);
                json.writeStartArray();
                json.writeString(tasks.task(i).id());
                json.writeNumber(i);
                json.writeString(record.state().name());
                writeExitCode(json, record.exitCode());
                json.writeNumber(record.attempts());
                time.write(json, record.startedAt());
                time.write(json, record.finishedAt());
                String[] rest = {record.reason(), record.backendId(), record.backendState()};
                int last = rest.length - 1;
                while (last >= 0 && rest[last] == null) {
                    last--;
                }
                for (int r = 0; r <= last; r++) {
                    json.writeString(rest[r]);
                }
                json.writeEndArray();
            }
            json.writeRaw('\n');
        }
    }

    private static void writeExitCode(JsonGenerator json, int exitCode) throws IOException {
        if (exitCode == Integer.MIN_VALUE) {
            json.writeNull();
        } else {
            json.writeNumber(exitCode);
        }
    }

    private static void writeIfPresent(JsonGenerator json, String field, String value) throws IOException {
        if (value != null) {
            json.writeStringField(field, value);
        }
    }

    /** ISO-8601 instants with milliseconds (null for 0), the date and time of day formatted once per second. */
    private static final class Timestamps {
        private long second = Long.MIN_VALUE;
        private final char[] text = new char[24];

        void write(JsonGenerator json, long epochMillis) throws IOException {
            if (epochMillis == 0) {
                json.writeNull();
                return;
            }
            long s = Math.floorDiv(epochMillis, 1000);
            if (s != second) {
                String whole = Instant.ofEpochSecond(s).toString(); // yyyy-mm-ddThh:mm:ssZ in the years drover sees
                if (whole.length() != 20) {
                    json.writeString(Instant.ofEpochMilli(epochMillis).toString());
                    return;
                }
                whole.getChars(0, 19, text, 0);
                text[19] = '.';
                text[23] = 'Z';
                second = s;
            }
            int millis = (int) Math.floorMod(epochMillis, 1000);
            text[20] = (char) ('0' + millis / 100);
            text[21] = (char) ('0' + millis / 10 % 10);
            text[22] = (char) ('0' + millis % 10);
            json.writeString(text, 0, text.length);
        }
    }

    private interface Body {
        void write(OutputStream out) throws IOException;
    }

    private static void replace(Path target, Body body) {
        Path temp = target.resolveSibling(target.getFileName() + ".tmp");
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(temp), 1 << 16)) {
                body.write(out);
            }
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target, e);
        }
    }
}
