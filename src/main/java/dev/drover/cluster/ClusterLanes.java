package dev.drover.cluster;

import dev.drover.manifest.TaskSpec;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.TaskBatch;
import dev.drover.run.TaskState;

import java.util.Iterator;
import java.util.List;

/**
 * The cluster lanes of this drover (bean {@code clusterLanes}): what the feeding splitter cuts a run into (route
 * {@code feed-run}: a cluster lane's groups, SLURM's full arrays, else the plan's batches) and the lanes' shared
 * error handling.
 */
public final class ClusterLanes implements AutoCloseable {

    private final RunRegistry runs;
    private final List<ClusterLane<?>> lanes;

    public ClusterLanes(RunRegistry runs, List<ClusterLane<?>> lanes) {
        this.runs = runs;
        this.lanes = List.copyOf(lanes);
    }

    /**
     * The cluster lanes' shared error handling (routeConfiguration {@code lane-errors}): a group the lane could not
     * take fails with the reason instead of staying pending, or claimed, forever.
     */
    public void failGroup(TaskBatch group, Exception error) {
        Run run = runs.find(group.runId());
        if (run == null) {
            return;
        }
        String reason = "drover could not submit the task: " + error;
        for (TaskSpec task : group.tasks()) {
            run.taskFinished(task.index(), run.attempts(task.index()), TaskState.FAILED, Integer.MIN_VALUE, reason);
        }
    }

    public Iterator<TaskBatch> pending(Run run) {
        for (ClusterLane<?> lane : lanes) {
            if (lane.backend().runs(run.plan().strategy())) {
                return lane.pending(run);
            }
        }
        return run.pendingBatches();
    }

    @Override
    public void close() throws Exception {
        for (ClusterLane<?> lane : lanes) {
            lane.close();
        }
    }
}
