package dev.drover.report;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Tasks over time, as the HTML report draws them. Each task gets a slot: the first slot free when it started (so
 * slots are what ran side by side: local workers, array elements running at once). A small run is drawn task by
 * task; a large one as a grid of slot groups × time buckets, each cell coloured by the state that filled most of
 * it and shaded by how busy it was, so the page stays the same size whatever the task count.
 */
final class Timeline {

    /** Up to this many started tasks are drawn one bar each. */
    static final int BARS_MAX = 2000;
    static final int ROWS_MAX = 120;
    static final int COLUMNS = 400;
    /** A task's index in the low bits of its sort key, its start offset (ms) above: 16M tasks, 34 years. */
    private static final int INDEX_BITS = 24;
    private static final long INDEX_MASK = (1L << INDEX_BITS) - 1;

    private Timeline() {
    }

    /** The timeline's data for the page's script; times are milliseconds since the run's first start. */
    static Map<String, Object> of(RunFacts run) {
        int n = run.taskCount();
        long runEnd = run.finishedAt != null ? run.finishedAt.toEpochMilli() : 0;
        long[] order = new long[n];
        int started = 0;
        long origin = Long.MAX_VALUE;
        long last = 0;
        for (int i = 0; i < n; i++) {
            if (run.startedAt[i] > 0) {
                origin = Math.min(origin, run.startedAt[i]);
                last = Math.max(last, Math.max(run.startedAt[i], end(run, i, runEnd)));
            }
        }
        for (int i = 0; i < n; i++) {
            if (run.startedAt[i] > 0) {
                order[started++] = (run.startedAt[i] - origin) << INDEX_BITS | i; // by start, then index
            }
        }
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("origin", started == 0 ? null : origin);
        data.put("span", started == 0 ? 0 : Math.max(1, last - origin));
        data.put("started", started);
        if (started == 0) {
            data.put("slots", 0);
            return data;
        }
        Arrays.sort(order, 0, started);
        int[] slot = new int[started];
        int slots = assignSlots(run, order, started, slot, runEnd);
        data.put("slots", slots);
        long span = Math.max(1, last - origin);
        if (started <= BARS_MAX) {
            long[][] bars = new long[started][];
            for (int k = 0; k < started; k++) {
                int i = (int) (order[k] & INDEX_MASK);
                bars[k] = new long[]{slot[k], run.startedAt[i] - origin, end(run, i, runEnd) - origin, run.state[i], i};
            }
            data.put("bars", bars);
            if (!run.ids.isEmpty()) {
                data.put("ids", run.ids);
            }
            return data;
        }
        int rows = Math.min(slots, ROWS_MAX);
        int slotsPerRow = (slots + rows - 1) / rows;
        rows = (slots + slotsPerRow - 1) / slotsPerRow;
        double width = (double) span / COLUMNS;
        int states = RunFacts.STATES.size();
        double[] busy = new double[rows * COLUMNS * states];
        for (int k = 0; k < started; k++) {
            int i = (int) (order[k] & INDEX_MASK);
            double from = run.startedAt[i] - origin;
            double to = end(run, i, runEnd) - origin;
            int row = slot[k] / slotsPerRow;
            int firstColumn = Math.min(COLUMNS - 1, (int) (from / width));
            int lastColumn = Math.min(COLUMNS - 1, (int) (to / width));
            for (int c = firstColumn; c <= lastColumn; c++) {
                double overlap = Math.min(to, (c + 1) * width) - Math.max(from, c * width);
                // an instant task still marks its cell
                busy[(row * COLUMNS + c) * states + run.state[i]] += Math.max(overlap, width / 1000);
            }
        }
        int[] cells = new int[rows * COLUMNS];
        double[] running = new double[COLUMNS];
        for (int cell = 0; cell < cells.length; cell++) {
            double total = 0;
            int top = 0;
            for (int s = 0; s < states; s++) {
                total += busy[cell * states + s];
                if (busy[cell * states + s] > busy[cell * states + top]) {
                    top = s;
                }
            }
            running[cell % COLUMNS] += total / width;
            int percent = total == 0 ? 0 : (int) Math.max(1, Math.min(100, Math.round(100 * total
                    / (width * slotsPerRow))));
            cells[cell] = percent == 0 ? -1 : top * 128 + percent;
        }
        data.put("rows", rows);
        data.put("slotsPerRow", slotsPerRow);
        data.put("columns", COLUMNS);
        data.put("cells", cells);
        data.put("running", Arrays.stream(running).map(r -> Math.round(r * 10) / 10.0).toArray());
        return data;
    }

    /** Interval partitioning: each task in start order takes the slot that came free first, or a new one. */
    private static int assignSlots(RunFacts run, long[] order, int started, int[] slot, long runEnd) {
        PriorityQueue<long[]> free = new PriorityQueue<>((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0])
                : Long.compare(a[1], b[1]));
        int slots = 0;
        for (int k = 0; k < started; k++) {
            int i = (int) (order[k] & INDEX_MASK);
            long[] earliest = free.peek();
            if (earliest != null && earliest[0] <= run.startedAt[i]) {
                free.poll();
                slot[k] = (int) earliest[1];
            } else {
                slot[k] = slots++;
            }
            free.add(new long[]{end(run, i, runEnd), slot[k]});
        }
        return slots;
    }

    /** When a task stopped occupying its slot: its end, else the run's (still running when the report was written). */
    private static long end(RunFacts run, int i, long runEnd) {
        return run.endedAt[i] >= run.startedAt[i] ? run.endedAt[i] : Math.max(run.startedAt[i], runEnd);
    }
}
