package dev.drover.run;

/**
 * The last measured {@link TaskUsage} of each task of a run, for the report: three ints a task (wall and CPU in ms,
 * peak memory in KiB), allocated at the first figure, so that a run no strategy measures costs nothing.
 */
final class Usages {

    private final int size;
    private int[] figures;

    Usages(int size) {
        this.size = size;
    }

    void set(int index, TaskUsage usage) {
        if (figures == null) {
            figures = new int[size * 3];
            java.util.Arrays.fill(figures, -1);
        }
        figures[index * 3] = clamp(usage.wallMillis());
        figures[index * 3 + 1] = clamp(usage.cpuMillis());
        figures[index * 3 + 2] = clamp((usage.maxRssBytes() + 1023) / 1024);
    }

    /** The task's last measured usage, or null. */
    TaskUsage get(int index) {
        if (figures == null || figures[index * 3] < 0) {
            return null;
        }
        return new TaskUsage(figures[index * 3], figures[index * 3 + 1], figures[index * 3 + 2] * 1024L);
    }

    private static int clamp(long value) {
        return (int) Math.max(0, Math.min(Integer.MAX_VALUE, value));
    }
}
