package dev.drover.report;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;

/**
 * One task entry of report.json, read from the parser by field name (any order, unknown fields skipped): a million
 * of them are read in a second or two, where building a tree per task took several times longer.
 * The usage figures are the task's own {@code usage}, else the last {@code history} attempt that has some.
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
    private boolean ownUsage;

    private TaskFields() {
    }

    /** Reads the object the parser is at (its START_OBJECT is current) up to and including its END_OBJECT. */
    static TaskFields read(JsonParser json) throws IOException {
        TaskFields task = new TaskFields();
        while (json.nextToken() == JsonToken.FIELD_NAME) {
            String field = json.currentName();
            JsonToken value = json.nextToken();
            switch (field) {
                case "id" -> task.id = text(json, value);
                case "index" -> task.index = value.isNumeric() ? json.getIntValue() : -1;
                case "state" -> task.state = text(json, value);
                case "exitCode" -> task.exitCode = value == JsonToken.VALUE_NUMBER_INT ? json.getIntValue() : null;
                case "attempts" -> task.attempts = value.isNumeric() ? json.getIntValue() : 0;
                case "startedAt" -> task.startedAt = text(json, value);
                case "finishedAt" -> task.finishedAt = text(json, value);
                case "log" -> task.log = text(json, value);
                case "reason" -> task.reason = text(json, value);
                case "usage" -> {
                    task.ownUsage = value == JsonToken.START_OBJECT;
                    task.usage(json, value);
                }
                case "history" -> task.history(json, value);
                default -> json.skipChildren();
            }
        }
        return task;
    }

    private void history(JsonParser json, JsonToken value) throws IOException {
        if (value != JsonToken.START_ARRAY) {
            json.skipChildren();
            return;
        }
        while (json.nextToken() == JsonToken.START_OBJECT) {
            while (json.nextToken() == JsonToken.FIELD_NAME) {
                String field = json.currentName();
                JsonToken attemptValue = json.nextToken();
                if (field.equals("usage") && !ownUsage && attemptValue == JsonToken.START_OBJECT) {
                    usage(json, attemptValue); // a later attempt's figures replace an earlier one's
                } else {
                    json.skipChildren();
                }
            }
        }
    }

    private void usage(JsonParser json, JsonToken value) throws IOException {
        if (value != JsonToken.START_OBJECT) {
            json.skipChildren();
            return;
        }
        double wall = Double.NaN;
        double cpu = Double.NaN;
        long rss = -1;
        while (json.nextToken() == JsonToken.FIELD_NAME) {
            String field = json.currentName();
            JsonToken figure = json.nextToken();
            if (!figure.isNumeric()) {
                json.skipChildren();
                continue;
            }
            switch (field) {
                case "wallSeconds" -> wall = json.getDoubleValue();
                case "cpuSeconds" -> cpu = json.getDoubleValue();
                case "maxRssBytes" -> rss = json.getLongValue();
                default -> {
                    // a figure this version does not show
                }
            }
        }
        wallSeconds = wall;
        cpuSeconds = cpu;
        maxRssBytes = rss;
    }

    private static String text(JsonParser json, JsonToken value) throws IOException {
        if (value == JsonToken.VALUE_STRING) {
            return json.getText();
        }
        json.skipChildren();
        return null;
    }
}
