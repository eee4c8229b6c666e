package dev.drover.plan;

import dev.drover.manifest.JobResources;
/**
 * Settings given on the command line; each non-null one overrides the manifest's value.
 *
 * @param jobResources the raw --job-resources text, parsed by {@link JobResources}
 */
public record RunOptions(String strategy, Integer jobs, String jobResources) {

    public static final RunOptions NONE = new RunOptions(null, null, null);
}
