package dev.drover.run;

import dev.drover.manifest.TaskSpec;
import dev.drover.manifest.JobResources;
import dev.drover.plan.RunPlan;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntFunction;
import java.util.function.IntSupplier;

/**
 * One run: its plan, its directory and the state of its tasks. Every change is a {@link JournalEntry}, written to the
 * journal first and then applied to the {@link TaskTable} (or {@link Submissions}) by the same {@link #apply} that
 * replays the journal after a restart. The run finishes when every task has reached a terminal state, and then
 * writes report.json.
 */
public final class Run {

    private static final Logger LOG = LoggerFactory.getLogger(Run.class);

    private final String id;
    private final Path dir;
    private final RunPlan plan;
    private final Journal journal;
    private final long acceptedAt;
    private final TaskTable tasks;
    private final Submissions submissions = new Submissions();
    private final Usages usages;
    private final Grants grants;

    private final CompletableFuture<RunState> finished = new CompletableFuture<>();
    private final AtomicBoolean finishing = new AtomicBoolean();
    private final RunHandlers handlers = new RunHandlers();
    private volatile boolean cancelled;
    /** A moving mean of how long the last tasks took from start to end, -1 before any ended. */
    private volatile double recentTaskMillis = -1;
    /** Told of each task's end (RunRegistry#onTaskEnded); set when the registry takes the run in. */
    private volatile RunRegistry registry;
    /** Whether this process has journalled its boot id (before its first "process" line). */
    private volatile boolean bootJournalled;
    /** Batches are handed out once: a recovered run may be submitted both by recovery and by its intake. */
    private final AtomicBoolean fed = new AtomicBoolean();

    Run(String id, Path dir, RunPlan plan, Journal journal, long acceptedAt) {
        this.id = id;
        this.dir = dir;
        this.plan = plan;
        this.journal = journal;
        this.acceptedAt = acceptedAt;
        this.tasks = new TaskTable(plan.taskCount());
        this.usages = new Usages(plan.taskCount());
        this.grants = new Grants(plan.taskCount());
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
     * The tasks still to run, in manifest order (see {@link PendingBatches}); handed out once. A cluster lane's come
     * in the plan's batches. A local lane's come in batches of about {@value #LOCAL_BATCH_MILLIS} ms of work by the
     * recent task times, up to {@value #MAX_LOCAL_BATCH} tasks (each batch is one pass through the pipeline, about a
     * tenth of a millisecond of drover's CPU), and one at a time while tasks take longer or none has ended yet, so
     * that no slot waits behind a batch of long tasks another slot could have run.
     */
    public Iterator<TaskBatch> pendingBatches() {
        return pending(plan.strategy().isCluster() ? plan::batchSize : this::localBatchSize, null);
    }

    public static final int LOCAL_BATCH_MILLIS = 20;
    static final int MAX_LOCAL_BATCH = 16;

    private int localBatchSize() {
        double recent = recentTaskMillis;
        return recent < 0 ? 1 : (int) Math.max(1, Math.min(MAX_LOCAL_BATCH, LOCAL_BATCH_MILLIS / Math.max(recent, 1)));
    }

    /**
     * The tasks still to run, in groups of at most {@code size} (a cluster lane's: a SLURM array) of one resource
     * signature each ({@link #taskResources}); handed out once.
     */
    public Iterator<TaskBatch> pendingGroups(int size) {
        return pending(() -> size, this::taskResources);
    }

    private Iterator<TaskBatch> pending(IntSupplier size, IntFunction<JobResources> signature) {
        if (fed.getAndSet(true)) {
            return Collections.emptyIterator();
        }
        return new PendingBatches(id, plan.manifest().tasks(), size,
                index -> taskState(index) == TaskState.PENDING, signature, () -> cancelled);
    }

    /**
     * The folder in a run's logs/ holding the output of tasks while they run (a local slot's, a SLURM element's), in
     * files that name their task: where {@code drover logs} looks for a running task.
     */
    public static final String RUNNING_LOGS = "running";

    /** Relative path (from the run directory) of a task's log. */
    public static String logPath(TaskSpec task) {
        return "logs/" + task.id() + ".log";
    }

    /** Writes the entry to the journal, then applies it; the caller holds the lock. */
    private void write(JournalEntry entry) {
        journal.append(entry);
        apply(entry);
    }

    /**
     * Applies one journal entry to the in-memory state: live, right after {@link #write} journalled it, and on
     * replay, without writing anything (how a run is rebuilt after a restart).
     */
    synchronized void apply(JournalEntry entry) {
        if (entry instanceof JournalEntry.Submission submission) {
            submissions.apply(submission);
        } else if (entry instanceof JournalEntry.Usage usage) {
            usages.set(usage.index(), usage.usage());
        } else if (entry instanceof JournalEntry.Granted granted) {
            grants.set(granted.index(), new Grants.Grant(granted.node(), granted.resources()));
        } else if (entry instanceof JournalEntry.Cancel) {
            cancelled = true;
        } else {
            tasks.apply(entry);
        }
    }

    public synchronized TaskState taskState(int index) {
        return tasks.state(index);
    }

    /** Records an attempt starting; returns false if the task must not start (the run was cancelled). */
    public boolean taskStarted(int index, int attempt) {
        return taskStarted(index, attempt, null);
    }

    /**
     * Records an attempt starting that a cluster already holds under {@code backendId} (a pod of a Job that drover
     * follows): one journal line, so no crash can leave the task looking free between its start and its job id.
     */
    public synchronized boolean taskStarted(int index, int attempt, String backendId) {
        if (cancelled || tasks.state(index).isTerminal()) {
            return false;
        }
        write(new JournalEntry.Start(System.currentTimeMillis(), index, attempt, backendId));
        return true;
    }

    /**
     * Records where a cluster runs a task and its state there; journalled so that a restarted drover can find the
     * job again. Either value may be null to keep the one recorded before.
     */
    public void taskBackend(int index, String backendId, String backendState) {
        taskBackend(index, backendId, backendState, null);
    }

    /** As above, with the node the attempt runs on when the cluster says (null: not known, or unchanged). */
    public synchronized void taskBackend(int index, String backendId, String backendState, String node) {
        write(new JournalEntry.Backend(System.currentTimeMillis(), index, backendId, backendState, node));
    }

    /**
     * Records a submission to a cluster under the lane's own key: first with a null id just before submitting, then
     * with the cluster's id once it answers. A restarted drover uses these to find its jobs again, and to clean up a
     * submission whose answer a crash lost. Synced: the cluster must never hold a job the journal does not know of.
     */
    public void submission(String key, String clusterId) {
        synchronized (this) {
            write(new JournalEntry.Submission(System.currentTimeMillis(), key, clusterId));
        }
        journal.sync();
    }

    /** The run's submissions so far, key to cluster id ("" if its answer was never recorded), in order. */
    public synchronized Map<String, String> submissions() {
        return submissions.snapshot();
    }

    /**
     * Tasks running on a cluster under their recorded backend id (in index order): after a restart, the ones the lane
     * re-attaches to instead of running again.
     */
    public synchronized Map<Integer, String> tasksAtBackend() {
        return tasks.atBackend();
    }

    /**
     * Records the process a local attempt runs as: pid and start time (clock ticks since boot, from /proc) of this
     * boot, so that a drover restarted after a crash can end exactly that process and never one that reuses its pid.
     * The boot is journalled once per drover process, before its first such line.
     */
    public synchronized void taskProcess(int index, int attempt, long pid, long startTicks, String bootId) {
        long now = System.currentTimeMillis();
        if (!bootJournalled) {
            write(new JournalEntry.Boot(now, bootId));
            bootJournalled = true;
        }
        write(new JournalEntry.Process(now, index, attempt, pid, startTicks));
    }

    /** A process that ran an attempt of a task, as journalled by {@link #taskProcess}. */
    public record TaskProcess(int index, long pid, long startTicks, String bootId) {
    }

    /**
     * The processes journalled for attempts that have not ended; after a replay, those that may still be running
     * if drover was killed (tasks run in sessions of their own and outlive it).
     */
    public synchronized List<TaskProcess> interruptedProcesses() {
        return tasks.unendedProcesses();
    }

    /** Attempts a task has had so far, including one a crash interrupted. */
    public synchronized int attempts(int index) {
        return tasks.attempts(index);
    }

    /** Failed attempts that were retried, across restarts: what the task has used of its retries. */
    public synchronized int retriesUsed(int index) {
        return tasks.retriesUsed(index);
    }

    /** The resources a task's next attempt runs with: the plan's for the task, and over them any escalation's. */
    public synchronized JobResources taskResources(int index) {
        String own = tasks.ownResources(index);
        return own == null ? plan.taskResources(index) : plan.taskResources(index).with(JobResources.parse(own));
    }

    /** Free reruns the task has had after node failures or preemptions. */
    public synchronized int reruns(int index) {
        return tasks.reruns(index);
    }

    /** The node of the task's last attempt that failed with its node (its next attempt avoids it), or null. */
    public synchronized String failedNode(int index) {
        return tasks.failedNode(index);
    }

    /** How many tasks were given more memory or time, and how many run again after a node failure. */
    public synchronized Escalations escalations() {
        return new Escalations(tasks.escalatedCount(), tasks.rerunCount());
    }

    /** Records an attempt that ran out of memory or time: a retry, with these resources from the next attempt on. */
    public synchronized void attemptEscalated(int index, int attempt, int exitCode, String reason,
                                              JobResources own) {
        String before = tasks.ownResources(index);
        JobResources merged = before == null ? own : JobResources.parse(before).with(own);
        write(new JournalEntry.Escalate(System.currentTimeMillis(), index, attempt, exitCode, reason,
                merged.toString()));
    }

    /** Records an attempt whose node failed or that was preempted: it runs again without spending a retry. */
    public synchronized void attemptRerun(int index, int attempt, int exitCode, String reason, String node) {
        write(new JournalEntry.Rerun(System.currentTimeMillis(), index, attempt, exitCode, reason, node));
    }

    /** Records what an attempt used, as its strategy measured it; before the attempt's end or retry is recorded. */
    public synchronized void taskUsage(int index, int attempt, TaskUsage usage) {
        write(new JournalEntry.Usage(System.currentTimeMillis(), index, attempt, usage.wallMillis(),
                usage.cpuMillis(), usage.maxRssBytes()));
    }

    /**
     * Records what a cluster gave an attempt (its node, and resources such as {@code mem=4000M,time=01:00:00} as the
     * cluster granted them; either may be null), as its accounting says: the report's history shows these.
     */
    public synchronized void taskGranted(int index, int attempt, String node, String resources) {
        write(new JournalEntry.Granted(System.currentTimeMillis(), index, attempt, node, resources));
    }

    /** What a cluster last gave a task, or null. */
    synchronized Grants.Grant granted(int index) {
        return grants.get(index);
    }

    /** The last measured usage of a task, or null. */
    public synchronized TaskUsage usage(int index) {
        return usages.get(index);
    }

    /** Records an attempt that ended but will be retried. */
    public synchronized void attemptFailed(int index, int attempt, int exitCode, String reason) {
        write(new JournalEntry.Retry(System.currentTimeMillis(), index, attempt, exitCode, reason, false));
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
        write(new JournalEntry.Requeue(System.currentTimeMillis(), index));
    }

    /** Records a task's final state; the last task to finish finishes the run. */
    public void taskFinished(int index, int attempt, TaskState state, int exitCode, String reason) {
        JournalEntry.End end = new JournalEntry.End(System.currentTimeMillis(), index, attempt, state, exitCode,
                reason);
        boolean last;
        int attemptCount;
        long firstStart;
        synchronized (this) {
            if (tasks.state(index).isTerminal()) {
                return;
            }
            write(end);
            last = tasks.terminalCount() == tasks.size();
            attemptCount = tasks.attempts(index);
            firstStart = tasks.startedAt(index);
            if (firstStart > 0 && state != TaskState.CANCELLED) {
                long took = end.at() - firstStart;
                recentTaskMillis = recentTaskMillis < 0 ? took : 0.9 * recentTaskMillis + 0.1 * took;
            }
        }
        RunRegistry owner = registry;
        if (owner != null) {
            // before finish(): listeners hear of a run's last task before its end is announced
            owner.taskEnded(this, index, state, attemptCount, exitCode, reason, firstStart, end.at());
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
            write(new JournalEntry.Cancel(System.currentTimeMillis()));
            for (int i = 0; i < tasks.size(); i++) {
                if (tasks.state(i) == TaskState.PENDING) {
                    pending.add(i);
                }
            }
        }
        LOG.info("run {}: cancelling", id);
        for (int index : pending) {
            taskFinished(index, 0, TaskState.CANCELLED, Integer.MIN_VALUE, "run cancelled");
        }
        handlers.cancelled();
        if (done() == tasks.size()) {
            finish(); // nothing was pending or running (e.g. a recovered run whose tasks had all ended)
        }
    }

    /**
     * After a replay: tasks that were running when drover stopped run again (their attempt stays counted), except
     * those a cluster holds: the cluster kept running them, and the lane re-attaches to them.
     */
    synchronized int requeueInterrupted() {
        return tasks.requeueInterrupted(plan.strategy().isCluster());
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
            if (finished.isDone() || (!cancelled && tasks.terminalCount() < tasks.size())) {
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
        handlers.onCancel(handler);
    }

    /** Runs the handler when the run finishes, or at once if it already has. */
    public void onFinish(Runnable handler) {
        handlers.onFinish(handler, finished.isDone());
    }

    private void finish() {
        if (!finishing.compareAndSet(false, true)) {
            return;
        }
        RunState state = cancelled ? RunState.CANCELLED
                : count(TaskState.FAILED) > 0 ? RunState.FAILED : RunState.SUCCEEDED;
        try {
            RunReport.write(this, state);
            journal.appendAndSync(new JournalEntry.Finished(System.currentTimeMillis(), state));
        } catch (RuntimeException e) {
            LOG.error("run {}: cannot write the report", id, e);
        } finally {
            journal.close();
        }
        finished.complete(state);
        handlers.finished();
    }

    public synchronized int count(TaskState state) {
        return tasks.count(state);
    }

    public int taskCount() {
        return tasks.size();
    }

    public synchronized int done() {
        return tasks.terminalCount();
    }

    /** A consistent copy of one task's record, for the report. */
    synchronized TaskRecord record(int index) {
        return tasks.record(index);
    }
}
