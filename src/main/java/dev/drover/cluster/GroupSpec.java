package dev.drover.cluster;

import dev.drover.manifest.JobResources;

import java.util.Set;

/**
 * What a group of tasks is submitted with: its own resources (the run's, or a per-task or escalated set: tasks with
 * the same resources share a group) and the nodes its next attempt should avoid (where an attempt's node failed).
 */
public record GroupSpec(JobResources resources, Set<String> avoid) {

    public GroupSpec {
        avoid = Set.copyOf(avoid);
    }

    public static GroupSpec of(JobResources resources) {
        return new GroupSpec(resources, Set.of());
    }
}
