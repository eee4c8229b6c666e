package dev.drover.cluster;

import dev.drover.manifest.TaskSpec;
import dev.drover.plan.Strategy;
import dev.drover.run.Run;

import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.function.Supplier;

/**
 * What one scheduler (SLURM, Kubernetes) adds to the protocol {@link ClusterLane} runs for every cluster: the shape
 * of cluster_tools' executor hooks. A backend cuts claimed tasks into its groups (job arrays, Indexed Jobs), submits
 * a group, lets a committed group run, follows a run's groups (polling the states of many jobs in one call and
 * settling each ended attempt through {@link Settlement}), cancels, and after a restart says which groups it can
 * follow again. It never writes the journal's protocol lines (key, claim, backend ids, commit): the lane does.
 *
 * @param <G> the backend's group: what one submission creates
 */
public interface ClusterBackend<G> {

    /** Whether this backend runs the strategy's lane. */
    boolean runs(Strategy strategy);

    /** How this backend's ids read (SLURM {@code <job>_<e>}, Kubernetes {@code <job>/<i>}). */
    BackendId.Format ids();

    /** Tasks per group the feeding splitter cuts for one lane call (SLURM: a full array). */
    int groupSize(Run run);

    /** A run's group keys, in order, going on after the ones its journal has (one supplier per run). */
    Supplier<String> keys(Run run);

    /**
     * The groups some claimed tasks make, each under a key from {@code keys} (the journal's submission key).
     *
     * @param spec the resources the group runs with and the nodes to avoid
     */
    List<G> prepare(Run run, List<TaskSpec> tasks, GroupSpec spec, Supplier<String> keys);

    /** The group's submission key. */
    String key(G group);

    /** The group's tasks by element (array index, Job completion index). */
    List<List<TaskSpec>> elements(G group);

    /**
     * Submits the group. A backend that must rename it first (a Kubernetes name clash) journals the new key through
     * {@code rekey} before it creates anything under it.
     */
    Submitted submit(Run run, G group, java.util.function.Consumer<String> rekey);

    /**
     * The group is committed: let it run (Kubernetes resumes its suspended Job). Returns null, or why it cannot run
     * (the lane then fails its tasks; the backend has removed it).
     */
    String release(Run run, G group, Submitted submitted);

    /** The job part of the backend ids of a group committed under {@code key} as {@code jobId}. */
    String heldJob(String key, String jobId);

    /** Starts following a run (once per run, on the {@link ClusterScheduler}); ended attempts go to the settler. */
    Tracking<G> track(Run run, Settler settler);

    /** A restart's look at a run's groups (one squeue, one Job list): made once per recovered run. */
    Reattach reattach(Run run, Tracking<G> tracking);

    /** A run's groups followed on the scheduler; ended attempts are settled, retries handed to {@link Retries}. */
    interface Tracking<G> {
        void follow(G group, Submitted submitted);

        /** The run's cancel: stop every group of the run. */
        void cancel();

        void stop();
    }

    /**
     * What a tracker does with an ended attempt: {@link #settle} decides and journals it once for every backend
     * ({@link Settlement}); the tasks it says run again go back to the lane together ({@link #retry}), regrouped by
     * their new resources.
     */
    interface Settler {
        /** True when the task runs again: the tracker hands it to {@link #retry} with the others of its cycle. */
        boolean settle(int task, int attempt, Settlement.Outcome outcome);

        void retry(List<Integer> tasks);

        static Settler of(Run run, Settlement settlement, java.util.function.Consumer<List<Integer>> retry) {
            return new Settler() {
                @Override
                public boolean settle(int task, int attempt, Settlement.Outcome outcome) {
                    return settlement.settle(run, task, attempt, outcome);
                }

                @Override
                public void retry(List<Integer> tasks) {
                    retry.accept(tasks);
                }
            };
        }
    }

    /** A restarted drover's view of one run's groups. */
    interface Reattach {
        /** A committed group that never ran (a Kubernetes Job a crash left suspended): ended, its tasks run again. */
        boolean neverRan(String key);

        /** Ends the groups that were never committed (or never ran), by key, and jobs of theirs the journal names. */
        void abandon(List<String> keys, Set<String> jobs);

        /** Follows a committed group again: element to the tasks it still holds. */
        void follow(String key, String jobId, SortedMap<Integer, List<Integer>> elements);
    }

    /**
     * One submission's answer.
     *
     * @param jobId   the scheduler's id for the group (SLURM job id, Kubernetes uid); null when not submitted
     * @param failure why not, when not (the lane fails the claimed tasks with it), or null when the run was
     *                cancelled or drover is stopping (the tasks are left to the cancel or the next start)
     * @param fatal   every later group of the run would fail alike (SLURM refused the job)
     * @param created the backend's object for the group (the Kubernetes Job as created), if any
     */
    record Submitted(String jobId, String failure, boolean fatal, Object created) {

        public static Submitted ok(String jobId, Object created) {
            return new Submitted(jobId, null, false, created);
        }

        public static Submitted failed(String failure, boolean fatal) {
            return new Submitted(null, failure, fatal, null);
        }

        /** Nothing to record: the run was cancelled or drover is stopping. */
        public static final Submitted NONE = new Submitted(null, null, false, null);
    }
}
