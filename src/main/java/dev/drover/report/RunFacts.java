package dev.drover.report;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a finished run's report.json (and plan.json) says, read field by field with a streaming parser, so that the
 * writer's layout (pretty or compact, field order within a task) does not matter and a million tasks cost a few
 * primitive arrays (about 41 bytes a task), not a million objects. A large run's tasks are read the same way, row by
 * row, from the tasks.jsonl that report.json names. Unknown fields are skipped.
 */
public final class RunFacts {

    /** Task states in the order used by {@link #state}; the names are report.json's. */
    public static final List<String> STATES = List.of("SUCCEEDED", "FAILED", "CANCELLED", "RUNNING", "PENDING");
    /** Failed tasks kept with their details; the rest are counted. */
    static final int FAILED_KEPT = 100;
    /** Up to this many tasks keep their ids (for the timeline's labels). */
    static final int IDS_KEPT = 5000;

    private static final JsonFactory JSON_FACTORY = new JsonFactory();
    private static final JsonMapper JSON = JsonMapper.builder().build();

    final Path dir;
    String runId;
    String name;
    String strategy;
    String runState;
    String rerunOf;
    Instant acceptedAt;
    Instant finishedAt;
    final Map<String, Integer> counts = new LinkedHashMap<>();
    /** plan.json's jobResources (canonical keys: mem, time, cpus_per_task, ...), empty when none. */
    final Map<String, String> resources = new LinkedHashMap<>();

    int tasks;
    long[] startedAt = new long[1024];
    long[] endedAt = new long[1024];
    byte[] state = new byte[1024];
    /** Measured figures, NaN / -1 where a task has none. */
    double[] wallSeconds = new double[1024];
    double[] cpuSeconds = new double[1024];
    long[] maxRssBytes = new long[1024];
    /** Per task, the memory its last attempt had (history's resources.mem) in MiB; null until a task has one. */
    int[] memMib;
    final List<String> ids = new ArrayList<>();
    final List<Failed> failed = new ArrayList<>();
    /** tasks.jsonl's {@code "log": "logs/<id>.log"}: a task's log, for the rows that do not name it. */
    private String logTemplate;
    /** How many failed tasks gave each reason (exit code when none), for the biggest groups first. */
    final Map<String, Integer> failureReasons = new LinkedHashMap<>();

    /** A failed (or cancelled) task as the report shows it. */
    record Failed(String id, int index, String state, Integer exitCode, int attempts, String reason, String log) {
    }

    private RunFacts(Path dir) {
        this.dir = dir;
    }

    /** Reads {@code dir/report.json}; an {@link IOException} names the file when it is missing or not JSON. */
    public static RunFacts read(Path dir) throws IOException {
        RunFacts facts = new RunFacts(dir);
        facts.readPlan();
        Path report = dir.resolve("report.json");
        try (JsonParser json = JSON_FACTORY.createParser(report.toFile())) {
            if (json.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException(report + " is not a JSON object");
            }
            while (json.nextToken() == JsonToken.FIELD_NAME) {
                String field = json.currentName();
                JsonToken value = json.nextToken();
                switch (field) {
                    case "runId" -> facts.runId = json.getText();
                    case "name" -> facts.name = json.getText();
                    case "strategy" -> facts.strategy = json.getText();
                    case "state" -> facts.runState = json.getText();
                    case "rerunOf" -> facts.rerunOf = value == JsonToken.VALUE_NULL ? null : json.getText();
                    case "acceptedAt" -> facts.acceptedAt = instant(json);
                    case "finishedAt" -> facts.finishedAt = instant(json);
                    case "counts" -> {
                        while (json.nextToken() == JsonToken.FIELD_NAME) {
                            String name = json.currentName();
                            json.nextToken();
                            facts.counts.put(name, json.getIntValue());
                        }
                    }
                    case "tasks" -> {
                        while (json.nextToken() == JsonToken.START_OBJECT) {
                            facts.addTask(TaskFields.read(json));
                        }
                    }
                    case "tasksFile" -> facts.readRows(json.getText());
                    default -> json.skipChildren();
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(report + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (facts.runId == null) {
            facts.runId = dir.getFileName().toString();
        }
        facts.trim();
        return facts;
    }

    /** A large run's tasks.jsonl (report.json's tasksFile, beside it): its header's columns, then a row per task. */
    private void readRows(String file) throws IOException {
        Path rows = dir.resolve(file).normalize();
        if (!rows.getParent().equals(dir.normalize())) {
            throw new IOException(dir.resolve("report.json") + ": tasksFile " + file + " is not a file beside it");
        }
        try (JsonParser json = JSON_FACTORY.createParser(rows.toFile())) {
            List<String> columns = new ArrayList<>();
            if (json.nextToken() == JsonToken.START_OBJECT) {
                while (json.nextToken() == JsonToken.FIELD_NAME) {
                    String field = json.currentName();
                    JsonToken value = json.nextToken();
                    if (field.equals("columns") && value == JsonToken.START_ARRAY) {
                        while (json.nextToken() == JsonToken.VALUE_STRING) {
                            columns.add(json.getText());
                        }
                    } else if (field.equals("log") && value == JsonToken.VALUE_STRING) {
                        logTemplate = json.getText();
                    } else {
                        json.skipChildren();
                    }
                }
            }
            if (columns.isEmpty()) {
                throw new IOException(rows + " does not start with its header line ({\"columns\": [...]})");
            }
            while (json.nextToken() == JsonToken.START_ARRAY) {
                addTask(TaskFields.readRow(json, columns));
            }
        } catch (java.io.FileNotFoundException | java.nio.file.NoSuchFileException e) {
            throw new IOException(rows + " is missing (report.json lists its tasks there)", e);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(rows + " is not valid JSON lines: " + e.getOriginalMessage(), e);
        }
    }

    /** Where a task's log is, when its entry does not say: tasks.jsonl's header names it once for all. */
    private String log(TaskFields task, String id) {
        return task.log != null || logTemplate == null ? task.log : logTemplate.replace("<id>", id);
    }

    private void readPlan() {
        try {
            JsonNode plan = JSON.readTree(dir.resolve("plan.json").toFile());
            plan.path("jobResources").fields().forEachRemaining(e -> resources.put(e.getKey(), e.getValue().asText()));
            int planned = plan.path("tasks").asInt(0);
            if (planned > state.length) {
                resize(planned); // once, at the right size: doubling would copy a large run's arrays again and again
            }
        } catch (IOException | RuntimeException e) {
            // no plan (a report copied elsewhere): no requested resources to compare with
        }
    }

    private void addTask(TaskFields task) {
        int i = tasks++;
        if (i == state.length) {
            resize(i * 2);
        }
        String taskState = task.state == null ? "PENDING" : task.state;
        int code = STATES.indexOf(taskState);
        state[i] = (byte) (code < 0 ? STATES.indexOf("PENDING") : code);
        startedAt[i] = millis(task.startedAt);
        endedAt[i] = millis(task.finishedAt);
        wallSeconds[i] = task.wallSeconds;
        cpuSeconds[i] = task.cpuSeconds;
        maxRssBytes[i] = task.maxRssBytes;
        Long mem = Efficiency.memBytes(task.mem);
        if (mem != null) {
            if (memMib == null) {
                memMib = new int[state.length];
            }
            memMib[i] = (int) Math.min(Integer.MAX_VALUE, mem >> 20);
        }
        String id = task.id == null ? Integer.toString(i) : task.id;
        if (ids.size() < IDS_KEPT) {
            ids.add(id);
        }
        if (taskState.equals("FAILED")) {
            String reason = task.reason != null ? task.reason
                    : task.exitCode != null ? "exit code " + task.exitCode : "no exit code";
            failureReasons.merge(reason, 1, Integer::sum);
            if (failed.size() < FAILED_KEPT) {
                failed.add(new Failed(id, task.index < 0 ? i : task.index, taskState, task.exitCode, task.attempts,
                        task.reason, log(task, id)));
            }
        }
    }

    private void resize(int size) {
        startedAt = Arrays.copyOf(startedAt, size);
        endedAt = Arrays.copyOf(endedAt, size);
        state = Arrays.copyOf(state, size);
        wallSeconds = Arrays.copyOf(wallSeconds, size);
        cpuSeconds = Arrays.copyOf(cpuSeconds, size);
        maxRssBytes = Arrays.copyOf(maxRssBytes, size);
        memMib = memMib == null ? null : Arrays.copyOf(memMib, size);
    }

    private void trim() {
        if (tasks != state.length) {
            resize(tasks);
        }
        if (ids.size() < tasks) {
            ids.clear(); // only complete lists are kept: labels must match tasks
        }
    }

    private static Instant instant(JsonParser json) throws IOException {
        return json.currentToken() == JsonToken.VALUE_STRING ? Instant.parse(json.getText()) : null;
    }

    /**
     * An ISO instant in epoch milliseconds (0 for none). The {@code yyyy-MM-ddTHH:mm:ss[.fff]Z} that drover writes
     * is read by hand: Instant.parse costs microseconds each, seconds for a large run's two stamps per task.
     */
    static long millis(String time) {
        if (time == null) {
            return 0;
        }
        int n = time.length();
        if (n >= 20 && time.charAt(4) == '-' && time.charAt(10) == 'T' && time.charAt(19) != ':'
                && time.charAt(n - 1) == 'Z' && (n == 20 || time.charAt(19) == '.' && n <= 30)) {
            try {
                long day = java.time.LocalDate.of(digits(time, 0, 4), digits(time, 5, 7), digits(time, 8, 10))
                        .toEpochDay();
                long seconds = day * 86400 + digits(time, 11, 13) * 3600L + digits(time, 14, 16) * 60L
                        + digits(time, 17, 19);
                int millis = 0;
                for (int i = 20, scale = 100; i < n - 1 && scale > 0; i++, scale /= 10) {
                    millis += digit(time, i) * scale;
                }
                return seconds * 1000 + millis;
            } catch (RuntimeException unusual) {
                // fall through to the full parser, which names what is wrong
            }
        }
        return Instant.parse(time).toEpochMilli();
    }

    private static int digits(String s, int from, int to) {
        int value = 0;
        for (int i = from; i < to; i++) {
            value = value * 10 + digit(s, i);
        }
        return value;
    }

    private static int digit(String s, int i) {
        char c = s.charAt(i);
        if (c < '0' || c > '9') {
            throw new NumberFormatException(s);
        }
        return c - '0';
    }

    public String runId() {
        return runId;
    }

    public int taskCount() {
        return tasks;
    }

    public int count(String state) {
        return counts.getOrDefault(state, 0);
    }

    /** A task's duration in seconds: measured wall time when there is one, else finishedAt - startedAt; NaN if neither. */
    double duration(int i) {
        if (!Double.isNaN(wallSeconds[i])) {
            return wallSeconds[i];
        }
        return startedAt[i] > 0 && endedAt[i] >= startedAt[i] ? (endedAt[i] - startedAt[i]) / 1000.0 : Double.NaN;
    }
}
