package dev.drover.run;

import dev.drover.manifest.TaskSource;
import dev.drover.manifest.TaskSpec;
import dev.drover.manifest.JobResources;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;
import java.util.function.IntSupplier;

/**
 * The tasks of a run still to run, in batches of a given size (a cluster lane's group size, or a local lane's that
 * follows how long tasks take: {@link Run#pendingBatches}), built one batch
 * at a time as the splitter asks for them: a million-task manifest never sits in memory as a million task objects.
 * With a signature (a cluster lane's: each task's resources), a batch holds tasks of one signature only: tasks are
 * read in manifest order, a signature's batch goes out when it is full, and the partly filled ones at the end, so
 * that three signatures interleaved in the list make three groups of full batches. Without one, batches follow the
 * manifest order (the local lanes; sequential runs in order). Stops early once the run is cancelled.
 */
final class PendingBatches implements Iterator<TaskBatch> {

    private final String runId;
    private final TaskSource tasks;
    /** Asked as each batch begins. */
    private final IntSupplier batchSize;
    private final IntPredicate pending;
    private final IntFunction<JobResources> signature;
    private final BooleanSupplier cancelled;
    /** Each signature's batch being filled, in the order the signatures first came. */
    private final Map<JobResources, Filling> filling = new LinkedHashMap<>();
    private final Deque<TaskBatch> ready = new ArrayDeque<>();
    private int next;

    /** @param signature the key tasks are grouped by, or null for manifest order */
    PendingBatches(String runId, TaskSource tasks, IntSupplier batchSize, IntPredicate pending,
                   IntFunction<JobResources> signature, BooleanSupplier cancelled) {
        this.runId = runId;
        this.tasks = tasks;
        this.batchSize = batchSize;
        this.pending = pending;
        this.signature = signature != null ? signature : index -> JobResources.NONE;
        this.cancelled = cancelled;
    }

    /** Reads on until a batch is ready or the tasks are all read. */
    private void fill() {
        while (ready.isEmpty() && next < tasks.size()) {
            int index = next++;
            if (!pending.test(index)) {
                continue;
            }
            JobResources key = signature.apply(index);
            Filling batch = filling.computeIfAbsent(key, k -> new Filling(batchSize.getAsInt(), tasks.size() - index));
            batch.tasks.add(tasks.task(index));
            if (batch.tasks.size() == batch.size) {
                filling.remove(key);
                ready.add(new TaskBatch(runId, batch.tasks));
            }
        }
        if (ready.isEmpty() && next == tasks.size()) {
            filling.values().forEach(batch -> ready.add(new TaskBatch(runId, batch.tasks)));
            filling.clear();
        }
    }

    /** A batch being filled, and how many tasks it takes. */
    private record Filling(int size, List<TaskSpec> tasks) {
        Filling(int size, int left) {
            this(Math.max(1, size), new ArrayList<>(Math.min(Math.max(1, size), left)));
        }
    }

    @Override
    public boolean hasNext() {
        if (cancelled.getAsBoolean()) {
            return false;
        }
        fill();
        return !ready.isEmpty();
    }

    @Override
    public TaskBatch next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return ready.poll();
    }
}
