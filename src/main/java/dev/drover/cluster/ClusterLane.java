package dev.drover.cluster;

import dev.drover.manifest.TaskSpec;
import dev.drover.manifest.JobResources;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.TaskBatch;
import dev.drover.run.TaskState;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.function.Supplier;

/**
 * The cluster protocol, written once for every backend (routes {@code lane-slurm}, {@code lane-kubernetes}):
 * <ol>
 *   <li>claim the group's tasks (each starts its next attempt; a cancelled run's tasks are not claimed),</li>
 *   <li>prepare the group(s) they make ({@link ClusterBackend#prepare}) and journal each key
 *       ({@code submission KEY}) before the scheduler sees it,</li>
 *   <li>submit; journal each task's backend id; commit ({@code submission KEY ID}, synced),</li>
 *   <li>release the group (Kubernetes resumes its suspended Job) and follow it on the run's tracker,</li>
 *   <li>settle or retry (the tracker, through {@link Settlement}); a retry is a new group, submitted here,</li>
 *   <li>cancel with the run; after a restart ({@link #reattach}) follow committed groups again and end the others
 *       before their tasks run again.</li>
 * </ol>
 * Only a committed group can have run a task, and its tasks' ids are journalled before its commit: so a restart
 * knows every group that may hold a task, and a task never has two live executions.
 *
 * @param <G> the backend's group
 */
public final class ClusterLane<G> implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterLane.class);
    /** The job id journalled for an uncommitted group once a restart has ended it: the next restart leaves it be. */
    public static final String ABANDONED = "-";

    private final CamelContext context;
    private final RunRegistry runs;
    private final ClusterBackend<G> backend;
    private final Settlement settlement;
    private final Map<String, LaneRun> active = new ConcurrentHashMap<>();
    private volatile ExecutorService retrier;
    /** Set by {@link #close}: drover is stopping, not the run; what is not yet done is left to the next start. */
    private volatile boolean stopping;

    public ClusterLane(CamelContext context, RunRegistry runs, ClusterBackend<G> backend, Settlement settlement) {
        this.context = context;
        this.runs = runs;
        this.backend = backend;
        this.settlement = settlement;
        runs.onRecovered(this::reattach);
    }

    public ClusterBackend<G> backend() {
        return backend;
    }

    /**
     * What the lane knows about one run: its tracking, its keys, and the scheduler's refusals by resources (a group
     * the scheduler refused fails, and so do later ones with the same resources; other signatures still go).
     */
    final class LaneRun {
        final Run run;
        final ClusterBackend.Tracking<G> tracking;
        final Supplier<String> keys;
        final Map<JobResources, String> refused = new ConcurrentHashMap<>();

        LaneRun(Run run) {
            this.run = run;
            this.keys = backend.keys(run);
            this.tracking = backend.track(run, ClusterBackend.Settler.of(run, settlement, tasks -> retry(run, tasks)));
        }
    }

    /** The run's lane state, made (and its tracking started) on first use. */
    LaneRun laneRun(Run run) {
        return active.computeIfAbsent(run.id(), id -> {
            LaneRun lane = new LaneRun(run);
            run.onCancel(lane.tracking::cancel);
            run.onFinish(() -> {
                active.remove(id);
                lane.tracking.stop();
            });
            return lane;
        });
    }

    /**
     * The run's pending tasks as the feeding splitter hands them to this lane: groups of
     * {@link ClusterBackend#groupSize} tasks (SLURM: a full array), one resource signature each.
     */
    public Iterator<TaskBatch> pending(Run run) {
        return run.pendingGroups(backend.groupSize(run));
    }

    /** Route entry: one group cut by the splitter, whose tasks share their resources ({@link Run#pendingGroups}). */
    public void accept(TaskBatch batch) {
        Run run = runs.find(batch.runId());
        if (run == null || run.finished().isDone() || stopping || batch.tasks().isEmpty()) {
            return; // cancelled and finished between the splitter handing the batch out and now
        }
        submit(laneRun(run), batch.tasks(), GroupSpec.of(run.taskResources(batch.tasks().get(0).index())));
    }

    /**
     * Tasks whose attempt ended and run again, submitted off the tracker's thread (sbatch may wait out a limit), in
     * one group per resource signature (an escalated task's own mem or time) and node to avoid.
     */
    void retry(Run run, List<Integer> tasks) {
        LaneRun lane = active.get(run.id());
        if (lane == null || tasks.isEmpty() || run.isCancelled()) {
            return;
        }
        Map<GroupSpec, List<TaskSpec>> groups = new LinkedHashMap<>();
        for (int task : tasks) {
            String node = run.failedNode(task);
            GroupSpec spec = new GroupSpec(run.taskResources(task), node == null ? Set.of() : Set.of(node));
            groups.computeIfAbsent(spec, s -> new ArrayList<>()).add(run.plan().manifest().tasks().task(task));
        }
        retrier().execute(() -> groups.forEach((spec, specs) -> submit(lane, specs, spec)));
    }

    /** Made on the first retry by Camel's ExecutorServiceManager, which shuts it down with the context. */
    private ExecutorService retrier() {
        if (retrier == null) {
            synchronized (this) {
                if (retrier == null) {
                    retrier = context.getExecutorServiceManager().newCachedThreadPool(this, "drover-cluster-retry");
                }
            }
        }
        return retrier;
    }

    /** Claims the tasks, then prepares and submits the groups they make. */
    void submit(LaneRun lane, List<TaskSpec> tasks, GroupSpec spec) {
        Run run = lane.run;
        List<TaskSpec> claimed = new ArrayList<>(tasks.size());
        for (TaskSpec task : tasks) {
            if (run.taskStarted(task.index(), run.attempts(task.index()) + 1)) {
                claimed.add(task);
            }
        }
        if (claimed.isEmpty()) {
            return;
        }
        List<G> groups;
        try {
            groups = backend.prepare(run, claimed, spec, lane.keys);
        } catch (RuntimeException e) {
            fail(run, claimed, e.getMessage() != null ? e.getMessage() : e.toString());
            return;
        }
        for (G group : groups) {
            submitGroup(lane, group, spec.resources());
        }
    }

    private void submitGroup(LaneRun lane, G group, JobResources resources) {
        Run run = lane.run;
        List<TaskSpec> tasks = elements(group).stream().flatMap(List::stream).toList();
        String refused = lane.refused.get(resources);
        if (refused != null) {
            fail(run, tasks, refused);
            return;
        }
        run.submission(backend.key(group), null);
        String[] key = {backend.key(group)};
        ClusterBackend.Submitted submitted = backend.submit(run, group, renamed -> {
            key[0] = renamed;
            run.submission(renamed, null);
        });
        if (submitted.jobId() == null) {
            if (submitted.fatal()) {
                lane.refused.put(resources, submitted.failure());
            }
            if (submitted.failure() != null) {
                fail(run, tasks, submitted.failure());
            } else if (run.isCancelled()) {
                tasks.forEach(t -> run.taskFinished(t.index(), run.attempts(t.index()), TaskState.CANCELLED,
                        Integer.MIN_VALUE, "run cancelled"));
            }
            return;
        }
        committed(lane, group, key[0], submitted);
    }

    /** The group exists at the scheduler: its tasks' ids, the commit, then it may run and is followed. */
    void committed(LaneRun lane, G group, String key, ClusterBackend.Submitted submitted) {
        Run run = lane.run;
        List<List<TaskSpec>> elements = elements(group);
        String job = backend.heldJob(key, submitted.jobId());
        for (int e = 0; e < elements.size(); e++) {
            for (TaskSpec task : elements.get(e)) {
                run.taskBackend(task.index(), backend.ids().format(job, e), "PENDING");
            }
        }
        // Written (and synced) after every task's backend line: a restart trusts only groups it finds committed.
        run.submission(key, submitted.jobId());
        String refused = stopping ? null : backend.release(run, group, submitted);
        if (refused != null) {
            fail(run, elements.stream().flatMap(List::stream).toList(), refused);
            return;
        }
        lane.tracking.follow(group, submitted);
        if (run.isCancelled()) {
            lane.tracking.cancel(); // the cancel handler may have run before this group existed
        }
        LOG.info("run {}: submitted {} ({} tasks) as {}", run.id(), key,
                elements.stream().mapToInt(List::size).sum(), submitted.jobId());
    }

    private List<List<TaskSpec>> elements(G group) {
        return backend.elements(group);
    }

    private static void fail(Run run, List<TaskSpec> tasks, String reason) {
        LOG.error("run {}: {}", run.id(), reason);
        for (TaskSpec task : tasks) {
            run.taskFinished(task.index(), run.attempts(task.index()), TaskState.FAILED, Integer.MIN_VALUE, reason);
        }
    }

    /**
     * A run rebuilt after a restart, before it resumes: the groups whose commit the journal has are followed again
     * (their tasks' ids were journalled before it, so all are known); tasks of the others, or of a committed group
     * that never ran, go back to the queue first, then those groups are ended (cancelled, deleted) before the run
     * feeds its tasks again. A backend id that is not one this lane writes goes back to the queue too.
     */
    void reattach(Run run) {
        if (!backend.runs(run.plan().strategy())) {
            return;
        }
        LaneRun lane = laneRun(run);
        Map<String, String> keyOfJob = new LinkedHashMap<>();
        Map<String, String> idOfKey = new LinkedHashMap<>();
        List<String> uncommitted = new ArrayList<>();
        run.submissions().forEach((key, id) -> {
            if (id.isEmpty()) {
                uncommitted.add(key);
            } else if (!id.equals(ABANDONED)) {
                keyOfJob.put(backend.heldJob(key, id), key);
                idOfKey.put(key, id);
            }
        });
        Map<String, SortedMap<Integer, List<Integer>>> held = new LinkedHashMap<>();
        Set<String> orphans = new LinkedHashSet<>();
        run.tasksAtBackend().forEach((task, text) -> {
            BackendId id = backend.ids().parse(text);
            if (id == null || !keyOfJob.containsKey(id.job())) {
                if (id != null) {
                    orphans.add(id.job()); // a job drover did not commit: found and ended below
                }
                run.requeue(task);
                return;
            }
            held.computeIfAbsent(id.job(), j -> new TreeMap<>()).computeIfAbsent(id.element(), e -> new ArrayList<>())
                    .add(task);
        });
        ClusterBackend.Reattach look = backend.reattach(run, lane.tracking);
        List<String> ending = new ArrayList<>(uncommitted);
        held.entrySet().removeIf(entry -> {
            String key = keyOfJob.get(entry.getKey());
            if (!look.neverRan(key)) {
                return false;
            }
            entry.getValue().values().forEach(tasks -> tasks.forEach(run::requeue));
            ending.add(key);
            return true;
        });
        keyOfJob.forEach((job, key) -> {
            if (!held.containsKey(job) && look.neverRan(key)) {
                ending.add(key);
            }
        });
        if (!ending.isEmpty() || !orphans.isEmpty()) {
            look.abandon(ending, orphans);
            ending.forEach(key -> run.submission(key, ABANDONED)); // settled: the next restart leaves them be
        }
        held.forEach((job, elements) -> {
            String key = keyOfJob.get(job);
            look.follow(key, idOfKey.get(key), elements);
        });
        LOG.info("run {}: re-attached to {} groups; {} groups ended before their tasks run again", run.id(),
                held.size(), ending.size());
    }

    /** Drover is stopping: nothing new is submitted or released; what is left is for the next start. */
    @Override
    public void close() throws Exception {
        stopping = true;
        if (backend instanceof AutoCloseable closeable) {
            closeable.close();
        }
    }
}
