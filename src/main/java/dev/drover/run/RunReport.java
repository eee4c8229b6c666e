package dev.drover.run;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.drover.manifest.TaskSource;
import dev.drover.manifest.TaskSpec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;

/**
 * Writes report.json: the run's outcome and one entry per task. Streamed, so a large run needs no second copy of
 * its tasks in memory, and written to a temporary file first so that a reader never sees half a report.
 */
public final class RunReport {

    public static final String FILE = "report.json";
    /** In a run directory made by `drover rerun`: the id of the run it reruns, copied into the report's rerunOf. */
    public static final String RERUN_OF_FILE = "rerun-of";
    private static final JsonFactory JSON = new JsonFactory();

    private RunReport() {
    }

    static void write(Run run, RunState state) {
        Path target = run.dir().resolve(FILE);
        Path temp = run.dir().resolve(FILE + ".tmp");
        TaskSource tasks = run.plan().manifest().tasks();
        try (JsonGenerator json = JSON.createGenerator(temp.toFile(), JsonEncoding.UTF8)) {
            json.useDefaultPrettyPrinter();
            json.writeStartObject();
            json.writeStringField("runId", run.id());
            json.writeStringField("name", run.plan().manifest().name());
            json.writeStringField("strategy", run.strategyName());
            json.writeStringField("state", state.name());
            Path rerunOf = run.dir().resolve(RERUN_OF_FILE);
            writeIfPresent(json, "rerunOf", Files.exists(rerunOf) ? Files.readString(rerunOf).strip() : null);
            json.writeStringField("acceptedAt", Instant.ofEpochMilli(run.acceptedAt()).toString());
            json.writeStringField("finishedAt", Instant.now().toString());
            json.writeObjectFieldStart("counts");
            json.writeNumberField("succeeded", run.count(TaskState.SUCCEEDED));
            json.writeNumberField("failed", run.count(TaskState.FAILED));
            json.writeNumberField("cancelled", run.count(TaskState.CANCELLED));
            json.writeEndObject();
            json.writeArrayFieldStart("tasks");
            for (int i = 0; i < tasks.size(); i++) {
                TaskSpec task = tasks.task(i);
                Run.TaskRecord record = run.record(i);
                json.writeStartObject();
                json.writeStringField("id", task.id());
                json.writeNumberField("index", i);
                json.writeStringField("state", record.state().name());
                if (record.exitCode() == Integer.MIN_VALUE) {
                    json.writeNullField("exitCode");
                } else {
                    json.writeNumberField("exitCode", record.exitCode());
                }
                json.writeNumberField("attempts", record.attempts());
                writeTime(json, "startedAt", record.startedAt());
                writeTime(json, "finishedAt", record.finishedAt());
                json.writeStringField("log", Run.logPath(task));
                writeIfPresent(json, "reason", record.reason());
                writeIfPresent(json, "backendId", record.backendId());
                writeIfPresent(json, "backendState", record.backendState());
                json.writeEndObject();
            }
            json.writeEndArray();
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target, e);
        }
        try {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target, e);
        }
    }

    private static void writeIfPresent(JsonGenerator json, String field, String value) throws IOException {
        if (value != null) {
            json.writeStringField(field, value);
        }
    }

    private static void writeTime(JsonGenerator json, String field, long epochMillis) throws IOException {
        if (epochMillis == 0) {
            json.writeNullField(field);
        } else {
            json.writeStringField(field, Instant.ofEpochMilli(epochMillis).toString());
        }
    }
}
