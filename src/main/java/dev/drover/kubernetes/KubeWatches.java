package dev.drover.kubernetes;

import dev.drover.cluster.ClusterBackend;
import dev.drover.cluster.Poller;
import dev.drover.manifest.TaskSpec;
import dev.drover.run.Run;

import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static dev.drover.cluster.BackendId.Format.KUBERNETES;

/** What {@link KubeTracker} knows of each run it follows and of each of the run's Jobs. */
final class KubeWatches {

    private KubeWatches() {
    }

    static final class RunWatch {
        final Run run;
        final String namespace;
        final Map<String, JobWatch> jobs = new ConcurrentHashMap<>();
        /** Decides each ended attempt ({@link dev.drover.cluster.Settlement}) and takes the tasks that run again. */
        final ClusterBackend.Settler settler;
        /** The tasks the current cycle settled to run again: handed to the settler together at its end. */
        final java.util.List<Integer> retried = new java.util.ArrayList<>();
        int refusals;
        final java.util.concurrent.atomic.AtomicBoolean warnedImage = new java.util.concurrent.atomic.AtomicBoolean();
        Poller poller;

        RunWatch(Run run, String namespace, ClusterBackend.Settler settler) {
            this.run = run;
            this.namespace = namespace;
            this.settler = settler;
        }
    }

    static final class JobWatch {
        final String name;
        /** The task of each Job index; null where it had ended before a restart (those indexes are terminal). */
        final TaskSpec[] tasks;
        /** Per index, the task's attempts before this Job: the Job's pods count on from there. */
        final int[] attemptsBefore;
        /** The time limit of each of the Job's pods (its group's), named when one goes over it. */
        final PodDeadline deadline;
        /** Per index, the latest attempt seen (attemptsBefore until a pod shows). */
        final int[] attempts;
        final BitSet terminal = new BitSet();
        final Map<String, Integer> podAttempts = new HashMap<>();
        final Set<String> finishedPods = new HashSet<>();
        final Map<Integer, String> waiting = new HashMap<>();
        /** Per index, the node its pod was seen on: a rerun avoids it. */
        final Map<Integer, String> nodes = new HashMap<>();
        /** Per pod stuck in one of {@link StuckPods#STUCK_REASONS}: since when (nanoClock), in a row. */
        final Map<String, Long> stuckSince = new HashMap<>();
        /** The pods seen stuck in the current cycle: the others leave {@link #stuckSince}. */
        final Set<String> stuckSeen = new HashSet<>();
        /** Per index, its pod stuck past the grace in the current cycle, with the reason its task fails with. */
        final Map<Integer, StuckPods.Stuck> stuck = new java.util.TreeMap<>();
        /** Stuck pods drover could not delete (logged once each). */
        final Set<String> undeletable = new HashSet<>();
        /** A pod of the Job was seen running or ended: a stuck pod is then given up on alone, not the Job. */
        boolean ran;
        /** The Job was deleted by drover for {@link #stuck}: its absence is no one else's deletion. */
        boolean givenUp;
        int missingCycles;

        JobWatch(String name, TaskSpec[] tasks, int[] attemptsBefore, PodDeadline deadline) {
            this.name = name;
            this.tasks = tasks;
            this.attemptsBefore = attemptsBefore;
            this.deadline = deadline;
            this.attempts = attemptsBefore.clone();
            for (int i = 0; i < tasks.length; i++) {
                if (tasks[i] == null) {
                    terminal.set(i);
                }
            }
        }

        int size() {
            return tasks.length;
        }

        /** The backend id of the task at a Job index, as {@link KubeJob#backendId}. */
        String backendId(int index) {
            return KUBERNETES.format(name, index);
        }

        /** The attempt an index is at: its latest pod's, else the first the Job runs. */
        int currentAttempt(int index) {
            return Math.max(attemptsBefore[index] + 1, attempts[index]);
        }

        boolean settled() {
            return terminal.cardinality() == tasks.length;
        }
    }
}
