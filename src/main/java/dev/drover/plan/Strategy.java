package dev.drover.plan;

import dev.drover.manifest.ManifestException;

import java.util.Arrays;
import java.util.stream.Collectors;

import static dev.drover.plan.Strategy.Lanes.SLURM_LANE;

/**
 * Where a run's tasks execute; the names are the values of --distribution-strategy. Each strategy names the lane its
 * batches go to (the feed-run and dispatch routes send there, routes/lane-*.camel.yaml take them).
 */
public enum Strategy {
    SLURM("slurm", SLURM_LANE),
    SLURM_BATCHING("slurm+batching", SLURM_LANE),
    KUBERNETES("kubernetes", "direct:lane-kubernetes"),
    /** Each run holds a lane of its own (a SEDA queue with --jobs consumers), opened when it is fed. */
    MULTIPROCESSING("multiprocessing", null),
    SEQUENTIAL("sequential", "direct:lane-sequential");

    private final String cliName;
    private final String lane;

    Strategy(String cliName, String lane) {
        this.cliName = cliName;
        this.lane = lane;
    }

    public String cliName() {
        return cliName;
    }

    /** The endpoint this strategy's batches are sent to; null when each run has a lane of its own. */
    public String lane() {
        return lane;
    }

    /** Each run has a lane of its own, opened when it is fed (the multiprocessing lanes, see LocalLanes). */
    public boolean isLaneOfItsOwn() {
        return lane == null;
    }

    public boolean isSlurm() {
        return SLURM_LANE.equals(lane);
    }

    /** The tasks run on a cluster that keeps them running while drover is away (re-attached after a restart). */
    public boolean isCluster() {
        return !isLocal();
    }

    public boolean isLocal() {
        return this == MULTIPROCESSING || this == SEQUENTIAL;
    }

    public static Strategy of(String name, String field) {
        for (Strategy s : values()) {
            if (s.cliName.equalsIgnoreCase(name.trim())) {
                return s;
            }
        }
        throw new ManifestException(field, "unknown strategy '" + name + "'; choose one of " + names());
    }

    public static String names() {
        return Arrays.stream(values()).map(Strategy::cliName).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return cliName;
    }

    /** Lanes shared by several strategies (an enum constant cannot refer to a static field of its own type). */
    static final class Lanes {
        static final String SLURM_LANE = "direct:lane-slurm";

        private Lanes() {
        }
    }
}
