package dev.drover.manifest;


import java.util.List;

/**
 * Where a manifest's tasks come from: an explicit list, or a generator that builds each task on demand so that a
 * million-task manifest never holds a million task objects.
 */
public interface TaskSource {

    /** The resource sets of a source whose tasks have none of their own. */
    List<JobResources> NO_OWN_RESOURCES = List.of(JobResources.NONE);

    int size();

    TaskSpec task(int index);

    /** The task's id alone, which a generator gives without building the task (a report of a million tasks). */
    default String id(int index) {
        return task(index).id();
    }

    /**
     * The distinct resource sets that tasks give of their own (the list form's {@code jobResources}), merged over the
     * run's by the plan; the first is {@link JobResources#NONE}, the set of every task without resources of its own.
     */
    default List<JobResources> resourceSets() {
        return NO_OWN_RESOURCES;
    }

    /** The index in {@link #resourceSets} of the task's own resources: 0 when it has none. */
    default int resourceSet(int index) {
        return 0;
    }

    /** Default task id: the index, zero-padded to the width of the largest index so that ids sort in order. */
    static String paddedId(int index, int size) {
        int width = Integer.toString(Math.max(size - 1, 0)).length();
        String digits = Integer.toString(index);
        return "0".repeat(Math.max(0, width - digits.length())) + digits;
    }
}
