package dev.drover.run;

import dev.drover.manifest.TaskSource;
import dev.drover.manifest.TaskSpec;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.BooleanSupplier;
import java.util.function.IntPredicate;

/**
 * The tasks of a run still to run, in manifest order and in batches of the plan's batch size, built one batch at a
 * time as the splitter asks for them: a million-task manifest never sits in memory as a million task objects.
 * Stops early once the run is cancelled.
 */
final class PendingBatches implements Iterator<TaskBatch> {

    private final String runId;
    private final TaskSource tasks;
    private final int batchSize;
    private final IntPredicate pending;
    private final BooleanSupplier cancelled;
    private int next;

    PendingBatches(String runId, TaskSource tasks, int batchSize, IntPredicate pending, BooleanSupplier cancelled) {
        this.runId = runId;
        this.tasks = tasks;
        this.batchSize = batchSize;
        this.pending = pending;
        this.cancelled = cancelled;
        this.next = advance(0);
    }

    private int advance(int from) {
        int i = from;
        while (i < tasks.size() && !pending.test(i)) {
            i++;
        }
        return i;
    }

    @Override
    public boolean hasNext() {
        return next < tasks.size() && !cancelled.getAsBoolean();
    }

    @Override
    public TaskBatch next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        List<TaskSpec> batch = new ArrayList<>(Math.min(batchSize, tasks.size() - next));
        while (batch.size() < batchSize && next < tasks.size()) {
            batch.add(tasks.task(next));
            next = advance(next + 1);
        }
        return new TaskBatch(runId, batch);
    }
}
