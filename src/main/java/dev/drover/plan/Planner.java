package dev.drover.plan;

import dev.drover.manifest.ManifestException;
import dev.drover.manifest.ManifestReader;

import java.util.Set;

/**
 * The planning step of the intake: turns a submitted manifest (text) into a {@link RunPlan}, or passes through a
 * plan that `drover run` already resolved, and refuses strategies this installation has no lane for.
 */
public final class Planner {

    private final Set<Strategy> available;

    public Planner(Set<Strategy> available) {
        this.available = Set.copyOf(available);
    }

    /** Strategies with a lane in routes/; the others are refused at planning. */
    public static Planner forInstalledLanes() {
        return new Planner(Set.of(Strategy.MULTIPROCESSING, Strategy.SEQUENTIAL, Strategy.SLURM,
                Strategy.SLURM_BATCHING, Strategy.KUBERNETES));
    }

    public RunPlan plan(Object body) {
        RunPlan plan = body instanceof RunPlan resolved ? resolved
                : RunPlan.resolve(ManifestReader.parse(body.toString()), RunOptions.NONE);
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
