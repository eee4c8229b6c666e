package dev.drover.manifest;

/**
 * Where a manifest's tasks come from: an explicit list, or a generator that builds each task on demand so that a
 * million-task manifest never holds a million task objects.
 */
public interface TaskSource {

    int size();

    TaskSpec task(int index);

    /** The task's id alone, which a generator gives without building the task (a report of a million tasks). */
    default String id(int index) {
        return task(index).id();
    }

    /** Default task id: the index, zero-padded to the width of the largest index so that ids sort in order. */
    static String paddedId(int index, int size) {
        int width = Integer.toString(Math.max(size - 1, 0)).length();
        String digits = Integer.toString(index);
        return "0".repeat(Math.max(0, width - digits.length())) + digits;
    }
}
