package dev.drover.report;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.drover.run.Journal;
import dev.drover.run.JournalEntry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A finished run's directory written the way drover writes it (report.json with the documented fields, plan.json
 * with its jobResources), from figures a test chooses: known usage, known failures, any size.
 */
final class SyntheticRun {

    /** One task; {@code wall}/{@code cpu} in seconds, {@code rss} in bytes; usage is left out when wall is NaN. */
    record Task(String id, String state, int exitCode, long startMillis, long endMillis, double wall, double cpu,
                long rss, String reason) {
    }

    private final List<Task> tasks = new ArrayList<>();
    private final Map<String, String> resources = new LinkedHashMap<>();
    private String rerunOf;

    SyntheticRun resource(String key, String value) {
        resources.put(key, value);
        return this;
    }

    SyntheticRun rerunOf(String runId) {
        rerunOf = runId;
        return this;
    }

    SyntheticRun task(Task task) {
        tasks.add(task);
        return this;
    }

    /** A task that succeeded after {@code wall} seconds of which {@code cpu} on a CPU, peaking at {@code rss}. */
    SyntheticRun measured(long start, double wall, double cpu, long rss) {
        return task(new Task(String.format("%06d", tasks.size()), "SUCCEEDED", 0, start,
                start + Math.round(wall * 1000), wall, cpu, rss, null));
    }

    Path write(Path runsDir, String runId) throws IOException {
        Path dir = Files.createDirectories(runsDir.resolve(runId));
        Files.createDirectories(dir.resolve("logs"));
        try (JsonGenerator plan = new JsonFactory().createGenerator(dir.resolve("plan.json").toFile(),
                JsonEncoding.UTF8)) {
            plan.writeStartObject();
            plan.writeStringField("strategy", "slurm");
            plan.writeObjectFieldStart("jobResources");
            for (Map.Entry<String, String> r : resources.entrySet()) {
                plan.writeStringField(r.getKey(), r.getValue());
            }
            plan.writeEndObject();
            plan.writeNumberField("tasks", tasks.size());
            plan.writeEndObject();
        }
        long first = tasks.stream().mapToLong(Task::startMillis).min().orElse(0);
        long last = tasks.stream().mapToLong(Task::endMillis).max().orElse(0);
        // a journal, as every run has: the commands about one run know a run by it
        Files.writeString(dir.resolve(Journal.FILE), new JournalEntry.Accepted(first, runId, "slurm", tasks.size(),
                JournalEntry.FORMAT).encode() + "\n");
        try (JsonGenerator json = new JsonFactory().createGenerator(dir.resolve("report.json").toFile(),
                JsonEncoding.UTF8)) {
            json.writeStartObject();
            json.writeStringField("runId", runId);
            json.writeStringField("name", "synthetic");
            json.writeStringField("strategy", "slurm");
            json.writeStringField("state", tasks.stream().anyMatch(t -> t.state().equals("FAILED")) ? "FAILED"
                    : "SUCCEEDED");
            if (rerunOf != null) {
                json.writeStringField("rerunOf", rerunOf);
            }
            json.writeStringField("acceptedAt", Instant.ofEpochMilli(first - 500).toString());
            json.writeStringField("finishedAt", Instant.ofEpochMilli(last + 500).toString());
            json.writeObjectFieldStart("counts");
            for (String state : List.of("SUCCEEDED", "FAILED", "CANCELLED")) {
                json.writeNumberField(state.toLowerCase(), tasks.stream().filter(t -> t.state().equals(state)).count());
            }
            json.writeEndObject();
            json.writeArrayFieldStart("tasks");
            for (int i = 0; i < tasks.size(); i++) {
                Task t = tasks.get(i);
                json.writeStartObject();
                json.writeStringField("id", t.id());
                json.writeNumberField("index", i);
                json.writeStringField("state", t.state());
                json.writeNumberField("exitCode", t.exitCode());
                json.writeNumberField("attempts", 1);
                json.writeStringField("startedAt", Instant.ofEpochMilli(t.startMillis()).toString());
                json.writeStringField("finishedAt", Instant.ofEpochMilli(t.endMillis()).toString());
                json.writeStringField("log", "logs/" + t.id() + ".log");
                if (t.reason() != null) {
                    json.writeStringField("reason", t.reason());
                }
                if (!Double.isNaN(t.wall())) {
                    json.writeObjectFieldStart("usage");
                    json.writeNumberField("wallSeconds", t.wall());
                    json.writeNumberField("cpuSeconds", t.cpu());
                    json.writeNumberField("maxRssBytes", t.rss());
                    json.writeEndObject();
                }
                json.writeEndObject();
            }
            json.writeEndArray();
            json.writeEndObject();
        }
        return dir;
    }
}
