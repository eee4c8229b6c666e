package dev.drover.report;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.util.List;

import static dev.drover.run.RunReport.USAGE_FIGURES;

/**
 * One task entry of report.json, read from the parser by field name (any order, unknown fields skipped), or one row
 * of a large run's tasks.jsonl by its header's column names: a million of them are read in a second or two, where
 * building a tree per task took several times longer.
 * The usage figures are the task's own {@code usage}, else the last {@code history} attempt that has some; the
 * memory the task had is its last attempt's {@code resources.mem} (what a cluster granted, where it said).
 */
final class TaskFields {

    String id;
    int index = -1;
    String state;
    Integer exitCode;
    int attempts;
    String startedAt;
    String finishedAt;
    String log;
    String reason;
    double wallSeconds = Double.NaN;
    double cpuSeconds = Double.NaN;
    long maxRssBytes = -1;
    /** The last attempt's {@code mem} (SLURM's letters), or null. */
    String mem;
    private boolean ownUsage;

    private TaskFields() {
    }

    /** Reads the object the parser is at (its START_OBJECT is current) up to and including its END_OBJECT. */
    static TaskFields read(JsonParser json) throws IOException {
        TaskFields task = new TaskFields();
        while (json.nextToken() == JsonToken.FIELD_NAME) {
            String field = json.currentName();
            task.field(field, json, json.nextToken());
        }
        return task;
    }

    /**
     * Reads one row of tasks.jsonl, the array the parser is at (its START_ARRAY is current), whose values are the
     * {@code columns} in order; values beyond the columns (a newer writer's) are skipped.
     */
    static TaskFields readRow(JsonParser json, List<String> columns) throws IOException {
        TaskFields task = new TaskFields();
        int column = 0;
        for (JsonToken value = json.nextToken(); value != JsonToken.END_ARRAY; value = json.nextToken(), column++) {
            if (value == null) {
                throw new IOException("a row ends early");
            }
            if (column < columns.size()) {
                task.field(columns.get(column), json, value);
            } else {
                json.skipChildren();
            }
        }
        return task;
    }

    /** One field of a task, its value the parser's current token; unknown fields are skipped. */
    private void field(String field, JsonParser json, JsonToken value) throws IOException {
        switch (field) {
            case "id" -> id = text(json, value);
            case "index" -> index = value.isNumeric() ? json.getIntValue() : -1;
            case "state" -> state = text(json, value);
            case "exitCode" -> exitCode = value == JsonToken.VALUE_NUMBER_INT ? json.getIntValue() : null;
            case "attempts" -> attempts = value.isNumeric() ? json.getIntValue() : 0;
            case "startedAt" -> startedAt = text(json, value);
            case "finishedAt" -> finishedAt = text(json, value);
            case "log" -> log = text(json, value);
            case "reason" -> reason = text(json, value);
            case "usage" -> {
                ownUsage = value == JsonToken.START_OBJECT || value == JsonToken.START_ARRAY;
                usage(json, value);
            }
            case "history" -> history(json, value);
            default -> json.skipChildren();
        }
    }

    private void history(JsonParser json, JsonToken value) throws IOException {
        if (value != JsonToken.START_ARRAY) {
            json.skipChildren();
            return;
        }
        while (json.nextToken() == JsonToken.START_OBJECT) {
            mem = null; // the last attempt's, or none
            while (json.nextToken() == JsonToken.FIELD_NAME) {
                String field = json.currentName();
                JsonToken attemptValue = json.nextToken();
                if (field.equals("usage") && !ownUsage && attemptValue == JsonToken.START_OBJECT) {
                    usage(json, attemptValue); // a later attempt's figures replace an earlier one's
                } else if (field.equals("resources") && attemptValue == JsonToken.START_OBJECT) {
                    while (json.nextToken() == JsonToken.FIELD_NAME) {
                        String key = json.currentName();
                        JsonToken resource = json.nextToken();
                        if (key.equals("mem")) {
                            mem = text(json, resource);
                        } else {
                            json.skipChildren();
                        }
                    }
                } else {
                    json.skipChildren();
                }
            }
        }
    }

    /** {@code usage}: an object of named figures (report.json), or tasks.jsonl's array of {@link #USAGE_FIGURES}. */
    private void usage(JsonParser json, JsonToken value) throws IOException {
        if (value != JsonToken.START_OBJECT && value != JsonToken.START_ARRAY) {
            json.skipChildren();
            return;
        }
        boolean named = value == JsonToken.START_OBJECT;
        JsonToken end = named ? JsonToken.END_OBJECT : JsonToken.END_ARRAY;
        wallSeconds = Double.NaN;
        cpuSeconds = Double.NaN;
        maxRssBytes = -1;
        int position = 0;
        for (JsonToken token = json.nextToken(); token != end && token != null; token = json.nextToken()) {
            String field;
            if (named) {
                field = json.currentName();
                token = json.nextToken();
            } else {
                field = position < USAGE_FIGURES.size() ? USAGE_FIGURES.get(position) : "";
                position++;
            }
            if (!token.isNumeric()) {
                json.skipChildren();
                continue;
            }
            switch (field) {
                case "wallSeconds" -> wallSeconds = json.getDoubleValue();
                case "cpuSeconds" -> cpuSeconds = json.getDoubleValue();
                case "maxRssBytes" -> maxRssBytes = json.getLongValue();
                default -> {
                    // a figure this version does not show
                }
            }
        }
    }

    private static String text(JsonParser json, JsonToken value) throws IOException {
        if (value == JsonToken.VALUE_STRING) {
            return json.getText();
        }
        json.skipChildren();
        return null;
    }
}
