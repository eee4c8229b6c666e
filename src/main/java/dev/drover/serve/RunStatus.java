package dev.drover.serve;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.run.Journal;
import dev.drover.run.JournalEntry;
import dev.drover.run.RunRegistry;
import dev.drover.run.RunReport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What a run directory says about its run, read without the drover process that owns it: report.json once the
 * run has finished (only its head: the counts come before the task list), else the journal replayed.
 *
 * @param state  SUCCEEDED, FAILED or CANCELLED from the report; RUNNING while the journal has no end (which is
 *               also what a run whose drover stopped looks like)
 * @param counts tasks by state: pending, running, succeeded, failed, cancelled
 */
public record RunStatus(String runId, Path dir, String strategy, String state, int tasks, Map<String, Integer> counts,
                        Instant acceptedAt, Instant finishedAt, boolean cancelRequested) {

    private static final JsonFactory JSON_FACTORY = new JsonFactory();
    private static final JsonMapper JSON = JsonMapper.builder().build();

    public Path logs() {
        return dir.resolve("logs");
    }

    public Path report() {
        return dir.resolve(RunReport.FILE);
    }

    public boolean finished() {
        return !state.equals("RUNNING");
    }

    /** Every run directory under runsDir (those with a journal), oldest first. */
    public static List<RunStatus> all(Path runsDir) throws IOException {
        if (!Files.isDirectory(runsDir)) {
            return List.of();
        }
        List<RunStatus> runs = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(runsDir)) {
            for (Path dir : dirs.filter(d -> Files.isRegularFile(d.resolve(Journal.FILE))).toList()) {
                runs.add(read(dir));
            }
        }
        runs.sort(Comparator.comparing(RunStatus::acceptedAt, Comparator.nullsLast(Comparator.naturalOrder()))
                .thenComparing(RunStatus::runId));
        return runs;
    }

    public static RunStatus read(Path dir) throws IOException {
        boolean cancelRequested = Files.exists(dir.resolve(RunRegistry.CANCEL_REQUEST));
        Path report = dir.resolve(RunReport.FILE);
        if (Files.isRegularFile(report)) {
            return fromReport(dir, report, cancelRequested);
        }
        return fromJournal(dir, cancelRequested);
    }

    /** Reads the report's head: the fields before "tasks", which may be a million entries long. */
    private static RunStatus fromReport(Path dir, Path report, boolean cancelRequested) throws IOException {
        String runId = dir.getFileName().toString();
        String strategy = null;
        String state = null;
        Instant accepted = null;
        Instant finished = null;
        Map<String, Integer> counts = emptyCounts();
        try (JsonParser json = JSON_FACTORY.createParser(report.toFile())) {
            json.nextToken();
            while (json.nextToken() == JsonToken.FIELD_NAME) {
                String field = json.currentName();
                json.nextToken();
                switch (field) {
                    case "runId" -> runId = json.getText();
                    case "strategy" -> strategy = json.getText();
                    case "state" -> state = json.getText();
                    case "acceptedAt" -> accepted = Instant.parse(json.getText());
                    case "finishedAt" -> finished = Instant.parse(json.getText());
                    case "counts" -> {
                        while (json.nextToken() == JsonToken.FIELD_NAME) {
                            String name = json.currentName();
                            json.nextToken();
                            counts.put(name, json.getIntValue());
                        }
                    }
                    default -> json.skipChildren();
                }
                if (field.equals("tasks")) {
                    break;
                }
            }
        }
        int tasks = planTasks(dir);
        if (tasks < 0) {
            tasks = counts.values().stream().mapToInt(Integer::intValue).sum();
        }
        return new RunStatus(runId, dir, strategy, state == null ? "UNKNOWN" : state, tasks, counts, accepted,
                finished, cancelRequested);
    }

    /** States a task can have in the replay below, by code (0: no line about it yet, so pending). */
    private static final List<String> REPLAYED = List.of("pending", "running", "succeeded", "failed", "cancelled");

    /**
     * Replays the journal, streaming: the latest line about each task says where it is. One byte per task, so the
     * status of a million-task run costs a megabyte, not a map of a million entries.
     */
    private static RunStatus fromJournal(Path dir, boolean cancelRequested) {
        class Replay {
            String runId = dir.getFileName().toString();
            String strategy;
            String state = "RUNNING";
            Instant accepted;
            Instant finished;
            int tasks = planTasks(dir);
            byte[] states = new byte[Math.max(tasks, 0)];

            void apply(JournalEntry entry) {
                if (entry instanceof JournalEntry.Accepted accepted) {
                    this.accepted = Instant.ofEpochMilli(accepted.at());
                    runId = accepted.runId();
                    strategy = accepted.strategy();
                    tasks = accepted.tasks();
                    if (states.length != tasks) {
                        states = java.util.Arrays.copyOf(states, tasks);
                    }
                } else if (entry instanceof JournalEntry.Start start) {
                    if (states[start.index()] < 2) {
                        states[start.index()] = 1;
                    }
                } else if (entry instanceof JournalEntry.End end) {
                    int code = REPLAYED.indexOf(end.state().name().toLowerCase(java.util.Locale.ROOT));
                    if (code >= 2) {
                        states[end.index()] = (byte) code;
                    }
                } else if (entry instanceof JournalEntry.Finished done) {
                    finished = Instant.ofEpochMilli(done.at());
                    state = done.state().name();
                }
                // retry, requeue, backend, submission, cancel: no change of state on their own
            }
        }
        Replay replay = new Replay();
        Journal.forEachEntry(dir, entry -> {
            try {
                replay.apply(entry);
            } catch (RuntimeException misfit) {
                // an entry that does not fit the run (a task index beyond it): skipped
            }
        });
        int[] byCode = new int[REPLAYED.size()];
        for (byte code : replay.states) {
            byCode[code]++;
        }
        Map<String, Integer> counts = emptyCounts();
        for (int code = 0; code < byCode.length; code++) {
            counts.put(REPLAYED.get(code), byCode[code]);
        }
        return new RunStatus(replay.runId, dir, replay.strategy, replay.state, Math.max(replay.tasks, 0), counts,
                replay.accepted, replay.finished, cancelRequested);
    }

    private static Map<String, Integer> emptyCounts() {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (String state : REPLAYED) {
            counts.put(state, 0);
        }
        return counts;
    }

    private static int planTasks(Path dir) {
        try {
            JsonNode plan = JSON.readTree(dir.resolve(RunRegistry.PLAN_FILE).toFile());
            return plan.path("tasks").asInt(-1);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The run as JSON for `drover status --json`. */
    public Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("runId", runId);
        map.put("state", state);
        map.put("strategy", strategy);
        map.put("tasks", tasks);
        map.put("counts", counts);
        map.put("acceptedAt", acceptedAt == null ? null : acceptedAt.toString());
        map.put("finishedAt", finishedAt == null ? null : finishedAt.toString());
        map.put("cancelRequested", cancelRequested);
        map.put("dir", dir.toString());
        map.put("logs", logs().toString());
        map.put("report", finished() ? report().toString() : null);
        return map;
    }
}
