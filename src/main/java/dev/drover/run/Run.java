package dev.drover.run;

import dev.drover.manifest.TaskSpec;
import dev.drover.plan.RunPlan;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One run: its plan, its directory and the state of every task. Every change goes to the journal first; the
 * per-task state lives in flat arrays so that a million-task run stays small. The run finishes when every task has
 * reached a terminal state, and then writes report.json.
 */
public final class Run {

    private static final Logger LOG = LoggerFactory.getLogger(Run.class);
    /** Last field of a "retry" line whose next attempt the cluster runs: the task stays held. */
    private static final String HELD = "held";

    private final String id;
    private final Path dir;
    private final RunPlan plan;
    private final Journal journal;
    private final long acceptedAt;

    private final byte[] states;
    private final int[] exitCodes;
    private final int[] attempts;
    private final long[] startedAt;
    private final long[] finishedAt;
    private final Map<Integer, String> reasons = new HashMap<>();
    private final Map<Integer, Integer> retriesUsed = new HashMap<>();
    private final java.util.concurrent.atomic.AtomicBoolean finishing = new java.util.concurrent.atomic.AtomicBoolean();
    /** Per task, where a cluster ran it (SLURM {@code <arrayJobId>_<index>}, Kubernetes {@code <job>/<index>}). */
    private final Map<Integer, String> backendIds = new HashMap<>();
    /** Per task, the cluster's own word for how it ended (COMPLETED, TIMEOUT, OOMKilled, ...). */
    private final Map<Integer, String> backendStates = new HashMap<>();
    /** Tasks whose current attempt a cluster holds (backend id recorded after its start, no retry since). */
    private final java.util.BitSet atBackend = new java.util.BitSet();
    /** Per submission (a SLURM array, ...), its cluster id; "" while the submission is under way. */
    private final Map<String, String> submissions = new java.util.LinkedHashMap<>();
    private final int[] counts = new int[TaskState.values().length];

    private final CompletableFuture<RunState> finished = new CompletableFuture<>();
    private final List<Runnable> cancelHandlers = new CopyOnWriteArrayList<>();
    private final List<Runnable> finishHandlers = new CopyOnWriteArrayList<>();
    private volatile boolean cancelled;
    /** Told of each task's end (RunRegistry#onTaskEnded); set when the registry takes the run in. */
    private volatile RunRegistry registry;
    /** Whether this process has journalled its boot id (before its first "process" line). */
    private volatile boolean bootJournalled;
    /** Replay only: per task whose attempts have not ended, the processes journalled for them. */
    private final Map<Integer, List<TaskProcess>> unendedProcesses = new HashMap<>();
    /** Replay only: the boot id of the drover process that wrote the lines being replayed. */
    private String replayedBoot = "";
    /** Batches are handed out once: a recovered run may be submitted both by recovery and by its intake. */
    private final java.util.concurrent.atomic.AtomicBoolean fed = new java.util.concurrent.atomic.AtomicBoolean();

    Run(String id, Path dir, RunPlan plan, Journal journal, long acceptedAt) {
        this.id = id;
        this.dir = dir;
        this.plan = plan;
        this.journal = journal;
        this.acceptedAt = acceptedAt;
        int n = plan.taskCount();
        this.states = new byte[n];
        this.exitCodes = new int[n];
        this.attempts = new int[n];
        this.startedAt = new long[n];
        this.finishedAt = new long[n];
        Arrays.fill(exitCodes, Integer.MIN_VALUE);
        counts[TaskState.PENDING.ordinal()] = n;
    }

    public String id() {
        return id;
    }

    public Path dir() {
        return dir;
    }

    public RunPlan plan() {
        return plan;
    }

    public String strategyName() {
        return plan.strategy().cliName();
    }

    public long acceptedAt() {
        return acceptedAt;
    }

    public boolean isCancelled() {
        return cancelled;
    }

    /** Completes with the run's final state once report.json is written. */
    public CompletableFuture<RunState> finished() {
        return finished;
    }

    /**
     * The tasks still to run, in manifest order and in batches of the plan's batch size, built one batch at a time
     * as the splitter asks for them: a million-task manifest never sits in memory as a million task objects.
     */
    public Iterator<TaskBatch> pendingBatches() {
        if (fed.getAndSet(true)) {
            return java.util.Collections.emptyIterator();
        }
        int batchSize = plan.batchSize();
        return new Iterator<>() {
            private int next = advance(0);

            private int advance(int from) {
                int i = from;
                while (i < states.length && taskState(i) != TaskState.PENDING) {
                    i++;
                }
                return i;
            }

            @Override
            public boolean hasNext() {
                return next < states.length && !cancelled;
            }

            @Override
            public TaskBatch next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                List<TaskSpec> tasks = new ArrayList<>(Math.min(batchSize, states.length - next));
                while (tasks.size() < batchSize && next < states.length) {
                    tasks.add(plan.manifest().tasks().task(next));
                    next = advance(next + 1);
                }
                return new TaskBatch(id, tasks);
            }
        };
    }

    /** Relative path (from the run directory) of a task's log. */
    public static String logPath(TaskSpec task) {
        return "logs/" + task.id() + ".log";
    }

    public synchronized TaskState taskState(int index) {
        return TaskState.ofOrdinal(states[index]);
    }

    /** Records an attempt starting; returns false if the task must not start (the run was cancelled). */
    public boolean taskStarted(int index, int attempt) {
        return taskStarted(index, attempt, null);
    }

    /**
     * Records an attempt starting that a cluster already holds under {@code backendId} (a pod of a Job that drover
     * follows): one journal line, so no crash can leave the task looking free between its start and its job id.
     */
    public boolean taskStarted(int index, int attempt, String backendId) {
        long now = System.currentTimeMillis();
        synchronized (this) {
            if (cancelled || TaskState.ofOrdinal(states[index]).isTerminal()) {
                return false;
            }
            move(index, TaskState.RUNNING);
            attempts[index] = attempt;
            hold(index, backendId);
            if (startedAt[index] == 0) {
                startedAt[index] = now;
            }
            if (backendId == null) {
                journal.append("start", Long.toString(now), Integer.toString(index), Integer.toString(attempt));
            } else {
                journal.append("start", Long.toString(now), Integer.toString(index), Integer.toString(attempt),
                        Journal.clean(backendId));
            }
        }
        return true;
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
     * Records where a cluster runs a task and its state there; journalled so that a restarted drover can find the
     * job again. Either value may be null to keep the one recorded before.
     */
    public synchronized void taskBackend(int index, String backendId, String backendState) {
        if (backendId != null) {
            hold(index, backendId);
        }
        if (backendState != null) {
            backendStates.put(index, backendState);
        }
        journal.append("backend", Long.toString(System.currentTimeMillis()), Integer.toString(index),
                Journal.clean(backendId), Journal.clean(backendState));
    }

    /**
     * Records a submission to a cluster under the lane's own key: first with a null id just before submitting, then
     * with the cluster's id once it answers. A restarted drover uses these to find its jobs again, and to clean up a
     * submission whose answer a crash lost.
     */
    public void submission(String key, String clusterId) {
        String id = clusterId == null ? "" : clusterId;
        synchronized (this) {
            submissions.put(key, id);
            journal.append("submission", Long.toString(System.currentTimeMillis()), Journal.clean(key),
                    Journal.clean(id));
        }
        journal.sync();
    }

    /** The run's submissions so far, key to cluster id ("" if its answer was never recorded), in order. */
    public synchronized Map<String, String> submissions() {
        return java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(submissions));
    }

    /**
     * Tasks running on a cluster under their recorded backend id (in index order): after a restart, the ones the lane
     * re-attaches to instead of running again.
     */
    public synchronized Map<Integer, String> tasksAtBackend() {
        Map<Integer, String> held = new java.util.TreeMap<>();
        for (int i = atBackend.nextSetBit(0); i >= 0; i = atBackend.nextSetBit(i + 1)) {
            if (states[i] == TaskState.RUNNING.ordinal()) {
                held.put(i, backendIds.get(i));
            }
        }
        return held;
    }

    /**
     * Records the process a local attempt runs as: pid and start time (clock ticks since boot, from /proc) of this
     * boot, so that a drover restarted after a crash can end exactly that process and never one that reuses its pid.
     * The boot is journalled once per drover process, before its first such line.
     */
    public void taskProcess(int index, int attempt, long pid, long startTicks, String bootId) {
        String now = Long.toString(System.currentTimeMillis());
        if (!bootJournalled) {
            synchronized (this) {
                if (!bootJournalled) {
                    journal.append("boot", now, Journal.clean(bootId));
                    bootJournalled = true;
                }
            }
        }
        journal.append("process", now, Integer.toString(index), Integer.toString(attempt), Long.toString(pid),
                Long.toString(startTicks));
    }

    /** A process that ran an attempt of a task, as journalled by {@link #taskProcess}. */
    public record TaskProcess(int index, long pid, long startTicks, String bootId) {
    }

    /**
     * After a replay: the processes journalled for attempts that never ended, which may still be running if drover
     * was killed (tasks run in sessions of their own and outlive it).
     */
    public synchronized List<TaskProcess> interruptedProcesses() {
        List<TaskProcess> all = new ArrayList<>();
        unendedProcesses.values().forEach(all::addAll);
        return all;
    }

    /** Attempts a task has had so far, including one a crash interrupted. */
    public synchronized int attempts(int index) {
        return attempts[index];
    }

    /** Failed attempts that were retried, across restarts: what the task has used of its retries. */
    public synchronized int retriesUsed(int index) {
        return retriesUsed.getOrDefault(index, 0);
    }

    /** Records an attempt that ended but will be retried. */
    public synchronized void attemptFailed(int index, int attempt, int exitCode, String reason) {
        retriesUsed.merge(index, 1, Integer::sum);
        atBackend.clear(index);
        journal.append("retry", Long.toString(System.currentTimeMillis()), Integer.toString(index),
                Integer.toString(attempt), Integer.toString(exitCode), Journal.clean(reason));
    }

    /**
     * Records a failed attempt that the cluster retries by itself (a Kubernetes Job's per-index backoff limit): the
     * retry counts as used, and the next attempt starts at once and stays the cluster's under the same backend id.
     * One journal line for both, so that no crash can fall between them and leave the task looking free (Recovery
     * would run it a second time next to the Job's retry).
     */
    public synchronized void attemptRetriedAtBackend(int index, int attempt, int exitCode, String reason) {
        retriesUsed.merge(index, 1, Integer::sum);
        attempts[index] = Math.max(attempts[index], attempt + 1);
        journal.append("retry", Long.toString(System.currentTimeMillis()), Integer.toString(index),
                Integer.toString(attempt), Integer.toString(exitCode), Journal.clean(reason), HELD);
    }

    /**
     * Before a recovered run resumes: a task held by a cluster job that never ran it (a job a crash left unreleased,
     * which the lane deletes) goes back to the queue. Its interrupted attempt stays counted, as for any task a crash
     * interrupted.
     */
    public synchronized void requeue(int index) {
        if (fed.get()) {
            throw new IllegalStateException("run " + id + ": tasks can only be requeued before the run resumes");
        }
        atBackend.clear(index);
        if (states[index] == TaskState.RUNNING.ordinal()) {
            move(index, TaskState.PENDING);
        }
        journal.append("requeue", Long.toString(System.currentTimeMillis()), Integer.toString(index));
    }

    /** Records a task's final state; the last task to finish finishes the run. */
    public void taskFinished(int index, int attempt, TaskState state, int exitCode, String reason) {
        long now = System.currentTimeMillis();
        boolean last;
        int attemptCount;
        long firstStart;
        synchronized (this) {
            if (TaskState.ofOrdinal(states[index]).isTerminal()) {
                return;
            }
            move(index, state);
            attempts[index] = Math.max(attempts[index], attempt);
            exitCodes[index] = exitCode;
            finishedAt[index] = now;
            if (reason != null) {
                reasons.put(index, reason);
            }
            last = terminalCount() == states.length;
            attemptCount = attempts[index];
            firstStart = startedAt[index];
            journal.append("end", Long.toString(now), Integer.toString(index), Integer.toString(attempt),
                    state.name(), Integer.toString(exitCode), Journal.clean(reason));
        }
        RunRegistry owner = registry;
        if (owner != null) {
            // before finish(): listeners hear of a run's last task before its end is announced
            owner.taskEnded(this, index, state, attemptCount, exitCode, reason, firstStart, now);
        }
        if (last) {
            finish();
        }
    }

    /**
     * Cancels the run: tasks not yet started become CANCELLED, running ones are stopped by the lanes' cancel
     * handlers (which then report them CANCELLED). Idempotent.
     */
    public void cancel() {
        List<Integer> pending = new ArrayList<>();
        synchronized (this) {
            if (cancelled || finished.isDone()) {
                return;
            }
            cancelled = true;
            for (int i = 0; i < states.length; i++) {
                if (states[i] == TaskState.PENDING.ordinal()) {
                    pending.add(i);
                }
            }
            journal.append("cancel", Long.toString(System.currentTimeMillis()));
        }
        LOG.info("run {}: cancelling", id);
        for (int index : pending) {
            taskFinished(index, 0, TaskState.CANCELLED, Integer.MIN_VALUE, "run cancelled");
        }
        cancelHandlers.forEach(Run::runQuietly);
        if (done() == states.length) {
            finish(); // nothing was pending or running (e.g. a recovered run whose tasks had all ended)
        }
    }

    /**
     * Applies one journal line to the in-memory state without writing anything: how a run is rebuilt after a
     * restart. Lines that do not parse (a crash can leave one) are skipped.
     */
    synchronized void replay(String[] line) {
        try {
            switch (line[0]) {
                case "start" -> {
                    int index = Integer.parseInt(line[2]);
                    int attempt = Integer.parseInt(line[3]);
                    long at = Long.parseLong(line[1]);
                    if (!TaskState.ofOrdinal(states[index]).isTerminal()) {
                        move(index, TaskState.RUNNING);
                    }
                    attempts[index] = Math.max(attempts[index], attempt);
                    hold(index, line.length > 4 && !line[4].isEmpty() ? line[4] : null);
                    if (startedAt[index] == 0) {
                        startedAt[index] = at;
                    }
                }
                case "end" -> {
                    // every field parsed before anything changes: a line that does not parse changes nothing
                    int index = Integer.parseInt(line[2]);
                    TaskState state = TaskState.valueOf(line[4]);
                    int attempt = Integer.parseInt(line[3]);
                    int exitCode = Integer.parseInt(line[5]);
                    long at = Long.parseLong(line[1]);
                    move(index, state);
                    unendedProcesses.remove(index);
                    attempts[index] = Math.max(attempts[index], attempt);
                    exitCodes[index] = exitCode;
                    finishedAt[index] = at;
                    if (line.length > 6 && !line[6].isEmpty()) {
                        reasons.put(index, line[6]);
                    }
                }
                case "backend" -> {
                    int index = Integer.parseInt(line[2]);
                    if (!line[3].isEmpty()) {
                        hold(index, line[3]);
                    }
                    if (line.length > 4 && !line[4].isEmpty()) {
                        backendStates.put(index, line[4]);
                    }
                }
                case "retry" -> {
                    int index = Integer.parseInt(line[2]);
                    retriesUsed.merge(index, 1, Integer::sum);
                    unendedProcesses.remove(index);
                    if (line.length > 6 && HELD.equals(line[6])) {
                        attempts[index] = Math.max(attempts[index], Integer.parseInt(line[3]) + 1);
                    } else {
                        atBackend.clear(index);
                    }
                }
                case "requeue" -> atBackend.clear(Integer.parseInt(line[2]));
                case "boot" -> replayedBoot = line[2];
                case "process" -> {
                    TaskProcess process = new TaskProcess(Integer.parseInt(line[2]), Long.parseLong(line[4]),
                            Long.parseLong(line[5]), replayedBoot);
                    unendedProcesses.computeIfAbsent(process.index(), i -> new ArrayList<>(1)).add(process);
                }
                case "submission" -> submissions.put(line[2], line.length > 3 ? line[3] : "");
                case "cancel" -> cancelled = true;
                default -> {
                    // accepted, recovered, finished: nothing to rebuild
                }
            }
        } catch (RuntimeException malformed) {
            LOG.warn("run {}: skipping unreadable journal line {}", id, String.join(" ", line));
        }
    }

    /**
     * After a replay: tasks that were running when drover stopped run again (their attempt stays counted), except
     * those a cluster holds: the cluster kept running them, and the lane re-attaches to them.
     */
    synchronized int requeueInterrupted() {
        int requeued = 0;
        boolean cluster = plan.strategy().isCluster();
        for (int i = 0; i < states.length; i++) {
            if (states[i] == TaskState.RUNNING.ordinal() && !(cluster && atBackend.get(i))) {
                move(i, TaskState.PENDING);
                requeued++;
            }
        }
        return requeued;
    }

    /** Completes a run that had finished before drover restarted; its report is already written. */
    void markFinished(RunState state) {
        fed.set(true);
        finishing.set(true);
        finished.complete(state);
    }

    /** A restored run that was cancelled, or whose tasks all ended, finishes now; returns whether it did. */
    boolean finishIfDone() {
        synchronized (this) {
            if (finished.isDone() || (!cancelled && terminalCount() < states.length)) {
                return false;
            }
        }
        if (cancelled) {
            cancelled = false; // let cancel() run its course for the tasks still open
            cancel();
        } else {
            finish();
        }
        return true;
    }

    void reportTaskEndsTo(RunRegistry registry) {
        this.registry = registry;
    }

    public void onCancel(Runnable handler) {
        cancelHandlers.add(handler);
    }

    /** Runs the handler when the run finishes, or at once if it already has. */
    public void onFinish(Runnable handler) {
        finishHandlers.add(handler);
        if (finished.isDone() && finishHandlers.remove(handler)) {
            runQuietly(handler);
        }
    }

    private void finish() {
        if (!finishing.compareAndSet(false, true)) {
            return;
        }
        RunState state = cancelled ? RunState.CANCELLED
                : count(TaskState.FAILED) > 0 ? RunState.FAILED : RunState.SUCCEEDED;
        try {
            RunReport.write(this, state);
            journal.appendAndSync("finished", Long.toString(System.currentTimeMillis()), state.name());
        } catch (RuntimeException e) {
            LOG.error("run {}: cannot write the report", id, e);
        } finally {
            journal.close();
        }
        finished.complete(state);
        // Each handler is claimed by removing it, here or in onFinish, so that it runs exactly once.
        for (Runnable handler : finishHandlers) {
            if (finishHandlers.remove(handler)) {
                runQuietly(handler);
            }
        }
    }

    private static void runQuietly(Runnable handler) {
        try {
            handler.run();
        } catch (RuntimeException e) {
            LOG.warn("run handler failed", e);
        }
    }

    private void move(int index, TaskState to) {
        counts[states[index]]--;
        counts[to.ordinal()]++;
        states[index] = (byte) to.ordinal();
    }

    private int terminalCount() {
        return counts[TaskState.SUCCEEDED.ordinal()] + counts[TaskState.FAILED.ordinal()]
                + counts[TaskState.CANCELLED.ordinal()];
    }

    public synchronized int count(TaskState state) {
        return counts[state.ordinal()];
    }

    public int taskCount() {
        return states.length;
    }

    public synchronized int done() {
        return terminalCount();
    }

    /** A consistent copy of one task's record, for the report. */
    synchronized TaskRecord record(int index) {
        return new TaskRecord(TaskState.ofOrdinal(states[index]), exitCodes[index], attempts[index],
                startedAt[index], finishedAt[index], reasons.get(index), backendIds.get(index),
                backendStates.get(index));
    }

    record TaskRecord(TaskState state, int exitCode, int attempts, long startedAt, long finishedAt, String reason,
                      String backendId, String backendState) {
    }
}
