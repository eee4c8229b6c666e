package dev.drover.manifest;


import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The resources a list's tasks give of their own, as they are read: a small table of the distinct sets and, once a
 * task has one, a short per task indexing it, so that tasks without resources of their own cost nothing.
 */
final class TaskResourceSets {

    /**
     * Distinct task resource sets one manifest may give: each makes its own arrays (SLURM) or Jobs (Kubernetes), so
     * a list whose every task asks for a slightly different amount would submit one array per task.
     */
    static final int MAX_SETS = 1000;

    private final int size;
    private final List<JobResources> distinct = new ArrayList<>(TaskSource.NO_OWN_RESOURCES);
    private final Map<JobResources, Integer> indexOf = new HashMap<>(Map.of(JobResources.NONE, 0));
    private short[] sets;

    TaskResourceSets(int size) {
        this.size = size;
    }

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
        if (set != 0 && sets == null) {
            sets = new short[size];
        }
        if (sets != null) {
            sets[task] = (short) set;
        }
    }

    TaskList list(List<TaskSpec> specs) {
        return new TaskList(List.copyOf(specs), List.copyOf(distinct), sets);
    }
}
