package dev.drover.manifest;

import java.time.Duration;
import java.util.Map;

/**
 * A validated task manifest. Run-level settings that may also come from the command line (strategy, jobs,
 * jobResources) are kept as given here, null when absent; the plan (RunPlan) resolves them.
 *
 * @param timeout per-task time limit, null for none
 * @param text    the manifest as submitted, copied into the run directory
 * @param sha256  hash of the manifest text, so that the same manifest submitted twice can be recognised
 * @param image   container image for the kubernetes strategy, null when absent
 * @param escalate how a cluster task's resources grow after it ran out of memory or time
 */
public record Manifest(
        String name,
        TaskSource tasks,
        String strategy,
        Integer jobs,
        Object jobResources,
        Map<String, String> env,
        String workdir,
        int retries,
        Duration timeout,
        ManifestText text,
        String sha256,
        String image,
        Escalate escalate) {
}
