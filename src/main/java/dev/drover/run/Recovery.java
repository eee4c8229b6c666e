package dev.drover.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.manifest.Manifest;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.JobResources;
import dev.drover.plan.RunPlan;
import dev.drover.plan.Strategy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Rebuilds a run from its directory — manifest copy, plan.json and journal — so that a restarted drover carries on
 * where the last one stopped: tasks that ended stay ended, tasks that were running run again.
 */
final class Recovery {

    private Recovery() {
    }

    record Stored(String runId, String sha256, boolean finished) {
    }

    /**
     * What the run directory says without rebuilding the run; null if it is not a run directory, or if
     * {@code sha256} is given and the run's manifest has another hash (checked before reading the journal).
     */
    static Stored peek(Path runDir, String sha256) {
        Path planFile = runDir.resolve(RunRegistry.PLAN_FILE);
        if (!Files.exists(planFile) || !Files.exists(runDir.resolve(Journal.FILE))) {
            return null;
        }
        try {
            JsonNode plan = JsonMapper.builder().build().readTree(planFile.toFile());
            if (plan == null || (sha256 != null && !sha256.equals(plan.path("sha256").asText()))) {
                return null;
            }
            boolean finished = Journal.read(runDir).stream().anyMatch(line -> line[0].equals("finished"));
            return new Stored(runDir.getFileName().toString(), plan.path("sha256").asText(), finished);
        } catch (IOException e) {
            return null;
        }
    }

    /** Rebuilds the run; an unfinished one gets its journal reopened for appending and its interrupted tasks requeued. */
    static Run load(Path runDir) {
        RunPlan plan = plan(runDir);
        List<String[]> lines = Journal.read(runDir);
        String[] accepted = lines.stream().filter(l -> l[0].equals("accepted")).findFirst()
                .orElseThrow(() -> new IllegalStateException(runDir + ": the journal has no 'accepted' line"));
        String[] finished = lines.stream().filter(l -> l[0].equals("finished")).findFirst().orElse(null);
        Journal journal = finished == null ? Journal.open(runDir) : null;
        Run run = new Run(accepted[2], runDir, plan, journal, Long.parseLong(accepted[1]));
        lines.forEach(run::replay);
        if (finished != null) {
            run.markFinished(RunState.valueOf(finished[2]));
        } else {
            int requeued = run.requeueInterrupted();
            journal.appendAndSync("recovered", Long.toString(System.currentTimeMillis()), Integer.toString(requeued));
        }
        return run;
    }

    private static RunPlan plan(Path runDir) {
        try {
            JsonNode stored = JsonMapper.builder().build().readTree(runDir.resolve(RunRegistry.PLAN_FILE).toFile());
            Manifest manifest = ManifestReader.read(runDir.resolve(stored.get("manifest").asText()));
            Map<?, ?> resources = JsonMapper.builder().build().convertValue(stored.get("jobResources"), Map.class);
            return new RunPlan(manifest, Strategy.of(stored.get("strategy").asText(), "plan.json strategy"),
                    stored.get("jobs").asInt(), JobResources.parse(resources.isEmpty() ? null : resources),
                    stored.get("batchSize").asInt());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + runDir.resolve(RunRegistry.PLAN_FILE), e);
        }
    }
}
