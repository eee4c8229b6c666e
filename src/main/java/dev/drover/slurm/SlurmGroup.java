package dev.drover.slurm;

import dev.drover.cluster.GroupSpec;

/** One job array the SLURM backend submits, with the resources and node exclusions it is submitted with. */
public record SlurmGroup(ArrayJob job, GroupSpec spec) {
}
