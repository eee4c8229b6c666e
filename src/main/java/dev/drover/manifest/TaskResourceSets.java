package dev.drover.manifest;


import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The resources a list's tasks give of their own, as they are read: a small table of the distinct sets and, once a
 * task has one, a short per task indexing it (grown as tasks are read), so that tasks without resources of their own
 * cost nothing.
 */
final class TaskResourceSets {

    /**
     * Distinct task resource sets one manifest may give: each makes its own arrays (SLURM) or Jobs (Kubernetes), so
     * a list whose every task asks for a slightly different amount would submit one array per task.
     */
    static final int MAX_SETS = 1000;

    private final List<JobResources> distinct = new ArrayList<>(TaskSource.NO_OWN_RESOURCES);
    private final Map<JobResources, Integer> indexOf = new HashMap<>(Map.of(JobResources.NONE, 0));
    private short[] sets;

    /** Task {@code task}'s own resources ({@link JobResources#NONE} for none), read from {@code field}. */
    void add(int task, JobResources own, String field) {
        int set = indexOf.computeIfAbsent(own, r -> distinct.size());
        if (set == distinct.size()) {
            if (set > MAX_SETS) {
                throw new ManifestException(field, "is the " + set + "th different set of task resources; at most "
                        + MAX_SETS + " fit one manifest (each makes its own arrays or Jobs): give tasks with close"
                        + " needs the same values");
            }
            distinct.add(own);
        }
        if (set != 0) {
            if (sets == null || task >= sets.length) {
                sets = Arrays.copyOf(sets == null ? new short[0] : sets, Math.max(task + 1, task + task / 2));
            }
            sets[task] = (short) set;
        }
    }

    List<JobResources> distinct() {
        return List.copyOf(distinct);
    }

    /** Each task's set, up to the last task that has one of its own (later ones have none); null when none has. */
    short[] sets() {
        return sets;
    }
}
