package dev.drover.plan;

import dev.drover.manifest.ManifestException;
import dev.drover.manifest.ManifestParser;
import dev.drover.manifest.ManifestReader;

import java.util.Set;

/**
 * The planning step of the intake: turns a submitted manifest (text) into a {@link RunPlan}, or passes through a
 * plan that `drover run` already resolved, and refuses strategies this installation has no lane for.
 */
public final class Planner {

    private final Set<Strategy> available;
    private final long maxManifestBytes;

    public Planner(Set<Strategy> available, long maxManifestBytes) {
        this.available = Set.copyOf(available);
        this.maxManifestBytes = maxManifestBytes;
    }

    /**
     * Strategies with a lane in routes/; the others are refused at planning. For checking a strategy only: a command
     * that reads a manifest reads it within the installation's limit itself (PlanOptions).
     */
    public static Planner forInstalledLanes() {
        return forInstalledLanes(ManifestParser.LARGEST);
    }

    /** @param maxManifestBytes the limit of {@value ManifestParser#MAX_BYTES_KEY} for manifests from the intakes */
    public static Planner forInstalledLanes(long maxManifestBytes) {
        return new Planner(Set.of(Strategy.MULTIPROCESSING, Strategy.SEQUENTIAL, Strategy.SLURM,
                Strategy.SLURM_BATCHING, Strategy.KUBERNETES), maxManifestBytes);
    }

    /**
     * A plan resolved by `drover run`, or manifest text from an intake (the drop folder reads it within the size
     * limit, never through a link: InboxEntries), checked against the limit before it is parsed.
     */
    public RunPlan plan(Object body) {
        RunPlan plan = body instanceof RunPlan resolved ? resolved
                : RunPlan.resolve(ManifestReader.parse(body.toString(), maxManifestBytes), RunOptions.NONE);
        checkAvailable(plan.strategy());
        return plan;
    }

    public void checkAvailable(Strategy strategy) {
        if (!available.contains(strategy)) {
            throw new ManifestException("strategy", strategy + " is not available yet in this version of drover;"
                    + " available: " + String.join(", ", available.stream().map(Strategy::cliName).sorted().toList()));
        }
    }
}
