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
            return new Stored(runDir.getFileName().toString(), plan.path("sha256").asText(), isFinished(runDir));
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether the journal ends with "finished": nothing is appended after it, so its tail is enough. */
    private static boolean isFinished(Path runDir) {
        String[] last = Journal.lastLine(runDir);
        return last != null && last[0].equals("finished");
    }

    /**
     * Rebuilds the run in one pass over its journal; an unfinished one gets its journal reopened for appending and
     * its interrupted tasks requeued.
     */
    static Run load(Path runDir) {
        RunPlan plan = plan(runDir);
        String[] last = Journal.lastLine(runDir);
        boolean finished = last != null && last[0].equals("finished");
        // locked first (no second process may take the run), the cut line ended only after the reading
        Journal journal = finished ? null : Journal.openUnended(runDir);
        try {
            Run[] run = new Run[1];
            Journal.forEachLine(runDir, line -> {
                if (run[0] != null) {
                    run[0].replay(line);
                } else if (line[0].equals("accepted")) {
                    run[0] = new Run(line[2], runDir, plan, journal, Long.parseLong(line[1]));
                }
            });
            if (run[0] == null) {
                throw new IllegalStateException(runDir + ": the journal has no 'accepted' line");
            }
            if (finished) {
                run[0].markFinished(RunState.valueOf(last[2]));
            } else {
                journal.endLineCutShort();
                int requeued = run[0].requeueInterrupted();
                journal.appendAndSync("recovered", Long.toString(System.currentTimeMillis()),
                        Integer.toString(requeued));
            }
            return run[0];
        } catch (RuntimeException e) {
            if (journal != null) {
                journal.close(); // released: this process does not run it after all
            }
            throw e;
        }
    }

    private static RunPlan plan(Path runDir) {
        try {
            JsonNode stored = JsonMapper.builder().build().readTree(runDir.resolve(RunRegistry.PLAN_FILE).toFile());
            Manifest manifest = ManifestReader.readAccepted(runDir.resolve(stored.get("manifest").asText()));
            Map<?, ?> resources = JsonMapper.builder().build().convertValue(stored.get("jobResources"), Map.class);
            return new RunPlan(manifest, Strategy.of(stored.get("strategy").asText(), "plan.json strategy"),
                    stored.get("jobs").asInt(), JobResources.parse(resources.isEmpty() ? null : resources),
                    stored.get("batchSize").asInt());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + runDir.resolve(RunRegistry.PLAN_FILE), e);
        }
    }
}
