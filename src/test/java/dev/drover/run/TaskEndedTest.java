package dev.drover.run;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RunRegistry#onTaskEnded: each task's end is told once, with what its metrics and event need. */
class TaskEndedTest {

    @TempDir
    Path tmp;

    @Test
    void listenersHearEachTaskEndOnceBeforeTheRunFinishes() {
        RunRegistry registry = new RunRegistry(tmp);
        List<TaskEnd> ends = new CopyOnWriteArrayList<>();
        List<Boolean> runDoneWhenTold = new CopyOnWriteArrayList<>();
        registry.onTaskEnded(end -> {
            ends.add(end);
            runDoneWhenTold.add(end.run().finished().isDone());
        });
        Run run = HandDriven.accept(registry, "ends", 3, "sequential", null);

        HandDriven.succeeds(run, 0);
        run.taskFinished(0, 1, TaskState.FAILED, 1, "late duplicate"); // ignored: the task had ended
        HandDriven.failsAfterARetry(run, 1, 2, 2, "exit code 2");
        run.cancel(); // task 2 never started

        assertEquals(3, ends.size(), ends.toString());
        TaskEnd first = ends.get(0);
        assertEquals(0, first.index());
        assertEquals(TaskState.SUCCEEDED, first.state());
        assertTrue(first.started());
        assertTrue(first.durationSeconds() >= 0);
        assertNull(first.reason());
        TaskEnd second = ends.get(1);
        assertEquals(TaskState.FAILED, second.state());
        assertEquals(2, second.attempt());
        assertEquals(2, second.exitCode());
        assertEquals("exit code 2", second.reason());
        TaskEnd third = ends.get(2);
        assertEquals(TaskState.CANCELLED, third.state());
        assertFalse(third.started());
        assertFalse(third.hasExitCode());
        assertEquals(List.of(false, false, false), runDoneWhenTold);
        assertTrue(run.finished().isDone());
    }
}
