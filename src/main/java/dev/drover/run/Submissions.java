package dev.drover.run;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A run's submissions to a cluster (a SLURM array, a Kubernetes Job), by the lane's own key, in order: what a
 * restarted drover uses to find its jobs again, and to clean up one whose answer a crash lost. Not thread-safe: its
 * {@link Run} guards it.
 */
final class Submissions {

    /** Key to cluster id; "" while the submission is under way or its answer was lost. */
    private final Map<String, String> byKey = new LinkedHashMap<>();

    void apply(JournalEntry.Submission submission) {
        byKey.put(submission.key(), submission.clusterId() == null ? "" : submission.clusterId());
    }

    Map<String, String> snapshot() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(byKey));
    }
}
