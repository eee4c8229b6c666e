package dev.drover.run;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The state of every task of a run, changed only by {@link #apply} with a journal entry: the same code whether the
 * entry was just written or is being replayed after a restart, so the two cannot drift apart. Flat arrays per task,
 * so that a million-task run stays small. Not thread-safe: its {@link Run} guards it.
 */
final class TaskTable {

    private final byte[] states;
    private final int[] exitCodes;
    private final int[] attempts;
    private final long[] startedAt;
    private final long[] finishedAt;
    private final int[] counts = new int[TaskState.values().length];
    private final Map<Integer, String> reasons = new HashMap<>();
    private final Map<Integer, Integer> retriesUsed = new HashMap<>();
    /** Per task, where a cluster ran it (SLURM {@code <arrayJobId>_<index>}, Kubernetes {@code <job>/<index>}). */
    private final Map<Integer, String> backendIds = new HashMap<>();
    /** Per task, the cluster's own word for how it ended (COMPLETED, TIMEOUT, OOMKilled, ...). */
    private final Map<Integer, String> backendStates = new HashMap<>();
    /** Per task that ran out of memory or time, its own resources from its next attempt on (over the run's). */
    private final Map<Integer, String> ownResources = new HashMap<>();
    /** Per task whose node failed or that was preempted, its free reruns and the node of the last such attempt. */
    private final Map<Integer, Integer> reruns = new HashMap<>();
    private final Map<Integer, String> failedNodes = new HashMap<>();
    /** Tasks whose current attempt a cluster holds (backend id recorded after its start, no retry since). */
    private final BitSet atBackend = new BitSet();
    /** Per task whose attempts have not ended, the processes journalled for them. */
    private final Map<Integer, List<Run.TaskProcess>> unendedProcesses = new HashMap<>();
    /** The boot that the next process entries belong to. */
    private String boot = "";

    TaskTable(int taskCount) {
        states = new byte[taskCount];
        exitCodes = new int[taskCount];
        attempts = new int[taskCount];
        startedAt = new long[taskCount];
        finishedAt = new long[taskCount];
        Arrays.fill(exitCodes, Integer.MIN_VALUE);
        counts[TaskState.PENDING.ordinal()] = taskCount;
    }

    /** Applies one task entry; other kinds change nothing here. */
    void apply(JournalEntry entry) {
        if (entry instanceof JournalEntry.Start start) {
            int index = start.index();
            if (!state(index).isTerminal()) {
                move(index, TaskState.RUNNING);
            }
            attempts[index] = Math.max(attempts[index], start.attempt());
            hold(index, start.backendId());
            if (startedAt[index] == 0) {
                startedAt[index] = start.at();
            }
        } else if (entry instanceof JournalEntry.End end) {
            int index = end.index();
            move(index, end.state());
            unendedProcesses.remove(index);
            attempts[index] = Math.max(attempts[index], end.attempt());
            exitCodes[index] = end.exitCode();
            finishedAt[index] = end.at();
            if (end.reason() != null) {
                reasons.put(index, end.reason());
            }
        } else if (entry instanceof JournalEntry.Backend backend) {
            if (backend.backendId() != null) {
                hold(backend.index(), backend.backendId());
            }
            if (backend.backendState() != null) {
                backendStates.put(backend.index(), backend.backendState());
            }
        } else if (entry instanceof JournalEntry.Retry retry) {
            int index = retry.index();
            retriesUsed.merge(index, 1, Integer::sum);
            unendedProcesses.remove(index);
            if (retry.heldByBackend()) {
                attempts[index] = Math.max(attempts[index], retry.attempt() + 1);
            } else {
                atBackend.clear(index);
            }
        } else if (entry instanceof JournalEntry.Escalate escalate) {
            retriesUsed.merge(escalate.index(), 1, Integer::sum);
            ownResources.put(escalate.index(), escalate.resources());
            attemptEnded(escalate.index());
        } else if (entry instanceof JournalEntry.Rerun rerun) {
            reruns.merge(rerun.index(), 1, Integer::sum);
            if (rerun.node() != null) {
                failedNodes.put(rerun.index(), rerun.node());
            }
            attemptEnded(rerun.index());
        } else if (entry instanceof JournalEntry.Requeue requeue) {
            atBackend.clear(requeue.index());
            if (state(requeue.index()) == TaskState.RUNNING) {
                move(requeue.index(), TaskState.PENDING);
            }
        } else if (entry instanceof JournalEntry.Boot b) {
            boot = b.bootId() == null ? "" : b.bootId();
        } else if (entry instanceof JournalEntry.Process p) {
            unendedProcesses.computeIfAbsent(p.index(), i -> new ArrayList<>(1))
                    .add(new Run.TaskProcess(p.index(), p.pid(), p.startTicks(), boot));
        }
    }

    /** An attempt ended and the task runs again in a new group: no process, no cluster holds it meanwhile. */
    private void attemptEnded(int index) {
        unendedProcesses.remove(index);
        atBackend.clear(index);
    }

    String ownResources(int index) {
        return ownResources.get(index);
    }

    int reruns(int index) {
        return reruns.getOrDefault(index, 0);
    }

    String failedNode(int index) {
        return failedNodes.get(index);
    }

    /** Tasks that ran out of memory or time and were given more. */
    int escalatedCount() {
        return ownResources.size();
    }

    /** Tasks run again after a node failure or preemption, without spending a retry. */
    int rerunCount() {
        return reruns.size();
    }

    /** The task's current attempt is the cluster's under this id; null: no cluster holds it (yet). */
    private void hold(int index, String backendId) {
        if (backendId == null) {
            atBackend.clear(index);
        } else {
            backendIds.put(index, backendId);
            atBackend.set(index);
        }
    }

    /**
     * After a replay: tasks that were running when drover stopped go back to pending (their attempt stays counted),
     * except those a cluster holds when {@code clusterKeepsHeld}. Returns how many went back.
     */
    int requeueInterrupted(boolean clusterKeepsHeld) {
        int requeued = 0;
        for (int i = 0; i < states.length; i++) {
            if (states[i] == TaskState.RUNNING.ordinal() && !(clusterKeepsHeld && atBackend.get(i))) {
                move(i, TaskState.PENDING);
                requeued++;
            }
        }
        return requeued;
    }

    TaskState state(int index) {
        return TaskState.ofOrdinal(states[index]);
    }

    int size() {
        return states.length;
    }

    int attempts(int index) {
        return attempts[index];
    }

    long startedAt(int index) {
        return startedAt[index];
    }

    int retriesUsed(int index) {
        return retriesUsed.getOrDefault(index, 0);
    }

    int count(TaskState state) {
        return counts[state.ordinal()];
    }

    int terminalCount() {
        return count(TaskState.SUCCEEDED) + count(TaskState.FAILED) + count(TaskState.CANCELLED);
    }

    /** Tasks running on a cluster under their recorded backend id, in index order. */
    Map<Integer, String> atBackend() {
        Map<Integer, String> held = new TreeMap<>();
        for (int i = atBackend.nextSetBit(0); i >= 0; i = atBackend.nextSetBit(i + 1)) {
            if (states[i] == TaskState.RUNNING.ordinal()) {
                held.put(i, backendIds.get(i));
            }
        }
        return held;
    }

    List<Run.TaskProcess> unendedProcesses() {
        List<Run.TaskProcess> all = new ArrayList<>();
        unendedProcesses.values().forEach(all::addAll);
        return all;
    }

    TaskRecord record(int index) {
        return new TaskRecord(state(index), exitCodes[index], attempts[index], startedAt[index],
                finishedAt[index], reasons.get(index), backendIds.get(index), backendStates.get(index));
    }

    private void move(int index, TaskState to) {
        counts[states[index]]--;
        counts[to.ordinal()]++;
        states[index] = (byte) to.ordinal();
    }
}
