package dev.drover.report;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.manifest.Manifest;
import dev.drover.manifest.ManifestException;
import dev.drover.manifest.ManifestReader;
import dev.drover.manifest.TaskSource;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.Strategy;
import dev.drover.run.RunReport;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The manifest of a rerun: the chosen tasks of a finished run, listed with the same ids, argv, environment and
 * working directory, and the run's manifest settings and resolved plan (strategy, jobs, jobResources, retries,
 * timeout, image) as they were; the command line may still override strategy, jobs and resources. JSON, so that a
 * long list parses fast.
 */
public final class Rerun {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private Rerun() {
    }

    /**
     * @param states the report states whose tasks run again (FAILED, CANCELLED), when {@code ids} is empty
     * @param ids    task ids to run again, whatever their state
     */
    public static String manifest(Path runDir, Set<String> states, List<String> ids) throws IOException {
        JsonNode plan = JSON.readTree(runDir.resolve("plan.json").toFile());
        Manifest original = ManifestReader.readAccepted(runDir.resolve(plan.path("manifest").asText()));
        TaskSource tasks = original.tasks();
        List<Integer> chosen = ids.isEmpty() ? byState(runDir, states, tasks.size()) : byId(runDir, tasks, ids);
        if (chosen.isEmpty()) {
            throw new ManifestException(ids.isEmpty() ? "--failed" : "--tasks", "run " + runDir.getFileName()
                    + " has no " + String.join(" or ", states.stream().map(String::toLowerCase).sorted().toList())
                    + " task: nothing to rerun (choose tasks with --tasks ID,...)");
        }
        StringWriter text = new StringWriter();
        try (JsonGenerator json = JSON.getFactory().createGenerator(text)) {
            json.writeStartObject();
            json.writeStringField("name", original.name());
            json.writeStringField("strategy", plan.path("strategy").asText());
            // plan.json's jobs is resolved (1 for sequential, 0 for no limit, a job count when batch-size was given):
            // carried over only where it is what a user could have asked for
            int jobs = plan.path("jobs").asInt(0);
            if (jobs > 0 && Strategy.of(plan.path("strategy").asText(), "strategy") != Strategy.SEQUENTIAL
                    && !plan.path("jobResources").has("batch_size")) {
                json.writeNumberField("jobs", jobs);
            }
            if (plan.path("jobResources").size() > 0) {
                json.writeFieldName("jobResources");
                JSON.writeTree(json, plan.path("jobResources"));
            }
            json.writeNumberField("retries", original.retries());
            if (original.timeout() != null) {
                json.writeStringField("timeout", original.timeout().toMillis() + "ms");
            }
            if (original.image() != null) {
                json.writeStringField("image", original.image());
            }
            json.writeArrayFieldStart("tasks");
            for (int index : chosen) {
                TaskSpec task = tasks.task(index);
                json.writeStartObject();
                json.writeStringField("id", task.id());
                json.writeArrayFieldStart("command");
                for (String arg : task.command()) {
                    json.writeString(arg);
                }
                json.writeEndArray();
                if (!task.env().isEmpty()) {
                    json.writeObjectFieldStart("env");
                    for (Map.Entry<String, String> e : task.env().entrySet()) {
                        json.writeStringField(e.getKey(), e.getValue());
                    }
                    json.writeEndObject();
                }
                if (task.workdir() != null) {
                    json.writeStringField("workdir", task.workdir());
                }
                if (tasks.resourceSet(index) != 0) { // the task's own, as it gave them: the rerun merges them again
                    json.writeObjectField("jobResources", tasks.resourceSets().get(tasks.resourceSet(index)).asMap());
                }
                json.writeEndObject();
            }
            json.writeEndArray();
            json.writeEndObject();
        }
        return text.toString();
    }

    /** Marks a new run directory as the rerun of {@code original}: its report gets rerunOf, status the chain. */
    public static void link(Path newRunDir, String original) throws IOException {
        Files.writeString(newRunDir.resolve(RunReport.RERUN_OF_FILE), original + "\n");
    }

    /** The run a run directory reruns, or null. */
    public static String of(Path runDir) {
        try {
            Path file = runDir.resolve(RunReport.RERUN_OF_FILE);
            return Files.isRegularFile(file) ? Files.readString(file).strip() : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static List<Integer> byState(Path runDir, Set<String> states, int size) throws IOException {
        RunFacts report = RunFacts.read(runDir);
        List<Integer> chosen = new ArrayList<>();
        for (int i = 0; i < Math.min(size, report.taskCount()); i++) {
            if (states.contains(RunFacts.STATES.get(report.state[i]))) {
                chosen.add(i);
            }
        }
        return chosen;
    }

    private static List<Integer> byId(Path runDir, TaskSource tasks, List<String> ids) {
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < tasks.size(); i++) {
            index.put(tasks.task(i).id(), i);
        }
        java.util.LinkedHashSet<Integer> chosen = new java.util.LinkedHashSet<>();
        for (String id : ids) {
            Integer i = index.get(id);
            if (i == null) {
                throw new ManifestException("--tasks", "run " + runDir.getFileName() + " has no task '" + id
                        + "' (drover logs " + runDir.getFileName() + " lists its tasks)");
            }
            chosen.add(i);
        }
        return new ArrayList<>(chosen);
    }
}
