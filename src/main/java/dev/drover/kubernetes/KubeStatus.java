package dev.drover.kubernetes;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static dev.drover.kubernetes.KubeTracker.FAILURE_COUNT_KEY;
import static dev.drover.kubernetes.KubeTracker.INDEX_KEY;

/** Reading what the API server says about a Job and its pods: conditions, index lists, a pod's index and retries. */
final class KubeStatus {

    private KubeStatus() {
    }

    static JobCondition condition(Job job, String type) {
        if (job.getStatus() == null || job.getStatus().getConditions() == null) {
            return null;
        }
        return job.getStatus().getConditions().stream()
                .filter(c -> type.equals(c.getType()) && "True".equals(c.getStatus())).findFirst().orElse(null);
    }

    /** Kubernetes' index list ("1,3-5,7") as a set. */
    static Set<Integer> indexes(String list) {
        Set<Integer> set = new HashSet<>();
        if (list == null || list.isBlank()) {
            return set;
        }
        for (String part : list.split(",")) {
            String[] ends = part.trim().split("-");
            int from = Integer.parseInt(ends[0]);
            int to = ends.length > 1 ? Integer.parseInt(ends[1]) : from;
            for (int i = from; i <= to; i++) {
                set.add(i);
            }
        }
        return set;
    }

    /** Kubernetes' count of earlier failed pods of this index (annotation, 1.28+); MAX_VALUE when absent. */
    static int failureCount(Pod pod) {
        Map<String, String> annotations = pod.getMetadata().getAnnotations();
        String value = annotations == null ? null : annotations.get(FAILURE_COUNT_KEY);
        try {
            return value == null ? Integer.MAX_VALUE : Integer.parseInt(value);
        } catch (NumberFormatException e) {
            return Integer.MAX_VALUE;
        }
    }

    static java.time.Instant created(Pod pod) {
        try {
            return java.time.Instant.parse(pod.getMetadata().getCreationTimestamp());
        } catch (RuntimeException e) {
            return java.time.Instant.MAX;
        }
    }

    static int index(Pod pod) {
        String value = labelOrAnnotation(pod, INDEX_KEY);
        try {
            return value == null ? -1 : Integer.parseInt(value);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    static String labelOrAnnotation(Pod pod, String key) {
        Map<String, String> labels = pod.getMetadata().getLabels();
        if (labels != null && labels.containsKey(key)) {
            return labels.get(key);
        }
        Map<String, String> annotations = pod.getMetadata().getAnnotations();
        return annotations != null ? annotations.get(key) : null;
    }
}
