package dev.drover.plan;

import dev.drover.manifest.ManifestException;

import java.util.Arrays;
import java.util.stream.Collectors;

/** Where a run's tasks execute; the names are the values of --distribution-strategy. */
public enum Strategy {
    SLURM("slurm", true),
    SLURM_BATCHING("slurm+batching", true),
    KUBERNETES("kubernetes", false),
    MULTIPROCESSING("multiprocessing", false),
    SEQUENTIAL("sequential", false);

    private final String cliName;
    private final boolean slurm;

    Strategy(String cliName, boolean slurm) {
        this.cliName = cliName;
        this.slurm = slurm;
    }

    public String cliName() {
        return cliName;
    }

    public boolean isSlurm() {
        return slurm;
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
}
