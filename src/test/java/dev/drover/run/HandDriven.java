package dev.drover.run;

import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;

/**
 * Runs whose tasks a test starts and ends by hand, as a lane would, with no process: the setup that the report,
 * task-end, event and metrics tests share.
 */
public final class HandDriven {

    private HandDriven() {
    }

    /** {@code count} echo tasks (ids 0 .. count-1) in a run named {@code name}, accepted by the registry. */
    public static Run accept(RunRegistry registry, String name, int count, String strategy, Integer jobs) {
        return registry.accept(RunPlan.resolve(ManifestReader.parse("name: " + name
                + "\ncommand: [echo, '{item}']\nrange: {start: 0, end: " + count + "}\n"),
                new RunOptions(strategy, jobs, null)));
    }

    /** The task starts and succeeds at its first attempt. */
    public static void succeeds(Run run, int index) {
        run.taskStarted(index, 1);
        run.taskFinished(index, 1, TaskState.SUCCEEDED, 0, null);
    }

    /** The task starts and fails at its first attempt. */
    public static void fails(Run run, int index, int exitCode, String reason) {
        run.taskStarted(index, 1);
        run.taskFinished(index, 1, TaskState.FAILED, exitCode, reason);
    }

    /** The task's first attempt exits with {@code firstExit} and is retried; the second fails for good. */
    public static void failsAfterARetry(Run run, int index, int firstExit, int exitCode, String reason) {
        run.taskStarted(index, 1);
        run.attemptFailed(index, 1, firstExit, "exit code " + firstExit);
        run.taskStarted(index, 2);
        run.taskFinished(index, 2, TaskState.FAILED, exitCode, reason);
    }
}
