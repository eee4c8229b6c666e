package dev.drover.run;

import dev.drover.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A local lane's batches follow how long the run's tasks take: one task at a time until some have ended and while
 * they take long, up to {@link Run#MAX_LOCAL_BATCH} while they are quick; a cluster lane's keep the plan's size.
 */
class LocalBatchesTest {

    @TempDir
    Path tmp;

    @Test
    void batchesGrowWhileTasksAreQuickAndShrinkWhenTheyTakeLonger() throws Exception {
        Run run = HandDriven.accept(new RunRegistry(tmp), "quick", 2000, "multiprocessing", 2);
        Iterator<TaskBatch> batches = run.pendingBatches();

        TaskBatch first = batches.next();
        assertEquals(1, first.tasks().size(), "no task has ended yet: one at a time");
        HandDriven.succeeds(run, first.tasks().get(0).index());
        TaskBatch quick = batches.next();
        assertEquals(Run.MAX_LOCAL_BATCH, quick.tasks().size(), "a task that took no time: a full batch");
        quick.tasks().forEach(task -> HandDriven.succeeds(run, task.index()));

        // tasks that take longer than a batch's worth of work: the moving mean climbs and batches go back to one
        int index = 1 + Run.MAX_LOCAL_BATCH;
        TaskBatch batch = batches.next();
        for (int slow = 0; slow < 40 && batch.tasks().size() > 1; slow++) {
            for (var task : batch.tasks()) {
                run.taskStarted(task.index(), 1);
                long started = System.currentTimeMillis();
                Await.within(Duration.ofSeconds(5),
                        () -> System.currentTimeMillis() - started > 4 * Run.LOCAL_BATCH_MILLIS);
                run.taskFinished(task.index(), 1, TaskState.SUCCEEDED, 0, null);
                index++;
            }
            batch = batches.next();
        }
        assertEquals(1, batch.tasks().size(), "slow tasks go one at a time again");
        assertEquals(index, batch.tasks().get(0).index(), "in manifest order, none skipped");
    }

    @Test
    void sequentialRunsInManifestOrderWhateverTheBatches() throws Exception {
        Run run = HandDriven.accept(new RunRegistry(tmp), "order", 100, "sequential", null);
        Iterator<TaskBatch> batches = run.pendingBatches();
        int expected = 0;
        while (batches.hasNext()) {
            for (var task : batches.next().tasks()) {
                assertEquals(expected++, task.index());
                HandDriven.succeeds(run, task.index());
            }
        }
        assertEquals(100, expected);
    }
}
