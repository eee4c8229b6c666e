package dev.drover.plan;

import dev.drover.manifest.JobResources;
import dev.drover.manifest.TaskSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A run's tasks by the resources they run with: each task's own set (the list form's {@code jobResources}) merged
 * over the run's. Tasks with equal resources make one group, submitted together (SLURM: its arrays; Kubernetes: its
 * Jobs), so a run whose tasks need three signatures makes three groups, never an array per task. Built from the
 * manifest's small table of distinct sets: a task costs nothing here.
 */
public final class ResourceGroups {

    private final TaskSource tasks;
    /** The effective resources of each of the manifest's resource sets. */
    private final JobResources[] ofSet;
    private final int[] groupOfSet;
    private final List<JobResources> groups = new ArrayList<>();
    private final int[] counts;
    private final int[] firstTasks;

    public ResourceGroups(JobResources run, TaskSource tasks) {
        this.tasks = tasks;
        List<JobResources> sets = tasks.resourceSets();
        ofSet = new JobResources[sets.size()];
        groupOfSet = new int[sets.size()];
        Map<JobResources, Integer> groupOf = new HashMap<>();
        for (int s = 0; s < sets.size(); s++) {
            JobResources merged = s == 0 ? run : run.with(sets.get(s));
            groupOfSet[s] = groupOf.computeIfAbsent(merged, r -> {
                groups.add(r);
                return groups.size() - 1;
            });
            ofSet[s] = groups.get(groupOfSet[s]);
        }
        counts = new int[groups.size()];
        firstTasks = new int[groups.size()];
        if (groups.size() == 1) {
            counts[0] = tasks.size();
        } else {
            for (int t = 0; t < tasks.size(); t++) {
                int g = group(t);
                if (counts[g]++ == 0) {
                    firstTasks[g] = t;
                }
            }
        }
    }

    /** How many groups the run's tasks make. */
    public int size() {
        return groups.size();
    }

    public int group(int task) {
        return groupOfSet[tasks.resourceSet(task)];
    }

    /** The resources the task runs with (before any escalation): the same object for every task of its group. */
    public JobResources forTask(int task) {
        return ofSet[tasks.resourceSet(task)];
    }

    public JobResources resources(int group) {
        return groups.get(group);
    }

    public int taskCount(int group) {
        return counts[group];
    }

    /** The first task of the group, in manifest order (the one an error about the group's resources names). */
    public int firstTask(int group) {
        return firstTasks[group];
    }

    /** Whether some task has resources of its own. */
    public boolean perTask() {
        return tasks.resourceSets().size() > 1;
    }

    /** The group's tasks, in manifest order. */
    public int[] tasks(int group) {
        int[] members = new int[counts[group]];
        int n = 0;
        for (int t = 0; t < tasks.size() && n < members.length; t++) {
            if (group(t) == group) {
                members[n++] = t;
            }
        }
        return members;
    }
}
