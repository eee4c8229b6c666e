package dev.drover.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.manifest.Manifest;
import dev.drover.manifest.ManifestReader;
import dev.drover.manifest.JobResources;
import dev.drover.plan.RunPlan;
import dev.drover.plan.Strategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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

    private static final Logger LOG = LoggerFactory.getLogger(Recovery.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private Recovery() {
    }

    record Stored(String runId, String sha256, boolean finished) {
    }

    /**
     * What the run directory says without rebuilding the run; null if it is not a run directory (a kill while it was
     * being made leaves one without plan.json or without a journal line: its manifest was never acknowledged), or if
     * {@code sha256} is given and the run's manifest has another hash (checked before reading the journal).
     */
    static Stored peek(Path runDir, String sha256) {
        Path planFile = runDir.resolve(RunRegistry.PLAN_FILE);
        if (!Files.exists(planFile) || !Journal.hasEntry(runDir)) {
            return null;
        }
        try {
            JsonNode plan = JSON.readTree(planFile.toFile());
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
        return Journal.lastEntry(runDir) instanceof JournalEntry.Finished;
    }

    /**
     * Rebuilds the run in one pass over its journal, each entry applied as it was live; an unfinished one gets its
     * journal reopened for appending (through {@code journals}) and its interrupted tasks requeued.
     */
    static Run load(Path runDir, Journals journals) {
        RunPlan plan = plan(runDir);
        JournalEntry last = Journal.lastEntry(runDir);
        // locked first (no second process may take the run), the cut line ended only after the reading
        Journal journal = last instanceof JournalEntry.Finished ? null : journals.openUnended(runDir);
        try {
            Run[] run = new Run[1];
            Journal.forEachEntry(runDir, entry -> {
                if (run[0] != null) {
                    replay(run[0], entry);
                } else if (entry instanceof JournalEntry.Accepted accepted) {
                    run[0] = new Run(accepted.runId(), runDir, plan, journal, accepted.at());
                }
            }, malformed -> LOG.warn("run {}: skipping {}", runDir.getFileName(), malformed.getMessage()));
            if (run[0] == null) {
                throw new IllegalStateException(runDir + ": the journal has no 'accepted' line");
            }
            if (last instanceof JournalEntry.Finished done) {
                run[0].markFinished(done.state());
            } else {
                journal.endLineCutShort();
                int requeued = run[0].requeueInterrupted();
                journal.appendAndSync(new JournalEntry.Recovered(System.currentTimeMillis(), requeued));
            }
            return run[0];
        } catch (RuntimeException e) {
            if (journal != null) {
                journal.close(); // released: this process does not run it after all
            }
            throw e;
        }
    }

    /** One entry replayed; one that does not fit the run (a task index beyond its manifest) is skipped. */
    private static void replay(Run run, JournalEntry entry) {
        try {
            run.apply(entry);
        } catch (RuntimeException misfit) {
            LOG.warn("run {}: skipping journal entry {}: {}", run.id(), entry, misfit.toString());
        }
    }

    private static RunPlan plan(Path runDir) {
        try {
            JsonNode stored = JSON.readTree(runDir.resolve(RunRegistry.PLAN_FILE).toFile());
            Manifest manifest = ManifestReader.readAccepted(runDir.resolve(stored.get("manifest").asText()));
            Map<?, ?> resources = JSON.convertValue(stored.get("jobResources"), Map.class);
            return new RunPlan(manifest, Strategy.of(stored.get("strategy").asText(), "plan.json strategy"),
                    stored.get("jobs").asInt(), JobResources.parse(resources.isEmpty() ? null : resources),
                    stored.get("batchSize").asInt());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + runDir.resolve(RunRegistry.PLAN_FILE), e);
        }
    }
}
