package dev.drover.slurm;

import dev.drover.cluster.ClusterBackend;
import dev.drover.cluster.ClusterScheduler;
import dev.drover.cluster.Poller;
import dev.drover.cluster.Settlement;
import dev.drover.manifest.TaskSpec;
import dev.drover.run.Run;
import dev.drover.run.TimedOut;
import dev.drover.slurm.SlurmFinalStates.Final;
import dev.drover.run.TaskState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

import static dev.drover.cluster.BackendId.Format.SLURM;

/**
 * Follows the job arrays of one run until every task has an outcome.
 * <p>
 * Each poll cycle: (1) the exit records the wrapper writes (one per element, a line per ended task) are read first:
 * they are the primary truth; (2) for the tasks still open, ONE squeue call covers all of the run's arrays (never one
 * call per job), and only every {@code squeue-min-interval}; (3) an element that has left the queue without exit
 * record lines for all its tasks is given
 * {@code exit-grace} (for a shared filesystem's lag), then resolved by {@code scontrol show job} (one call per array
 * concerned) or, once SLURM has purged the job (MinJobAge), by {@code sacct}; the task is reported with SLURM's
 * state and reason (TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, CANCELLED, ...). If squeue itself fails (controller
 * restarting), nothing is concluded from it: the tracker keeps polling with backoff.
 * <p>
 * The cycle interval starts at {@code poll-initial}, doubles while nothing finishes, up to {@code poll-max}, and
 * returns to the start when a task finishes or the run is cancelled.
 * <p>
 * The file-system cost of a cycle does not grow with the task count (the run directory is on a shared filesystem,
 * where metadata operations are rationed): exit records are found by ONE directory listing per array, and only for
 * arrays with an element that is running, has left the queue, or has not been seen by squeue yet; an array whose open
 * elements were all PENDING at the last squeue is not looked at. An element's record is read while it has tasks whose
 * line has not been read. So a cycle costs (active arrays) listings + (elements with records and tasks to end) reads,
 * never one stat per pending task.
 */
final class SlurmTracker {

    private static final Logger LOG = LoggerFactory.getLogger(SlurmTracker.class);

    private static final int NONE = Integer.MIN_VALUE;
    /** SLURM states that explain a task killed by a signal better than its exit code does. */
    private static final java.util.Set<String> KILLED_BY_SLURM = java.util.Set.of("TIMEOUT", "OUT_OF_MEMORY",
            "CANCELLED", "NODE_FAIL", "PREEMPTED", "DEADLINE", "BOOT_FAIL");

    private final Run run;
    private final ClusterBackend.Settler settler;
    private final SlurmSettings settings;
    private final SlurmCommands commands;
    private final SlurmCancel canceller;
    private final ExitRecords records;
    private final List<Tracked> arrays = new ArrayList<>();
    private final LongSupplier clock;
    private Poller poller;
    private volatile boolean cancelRequested;
    private long lastSqueue;
    private boolean squeueFailing;
    /** What the tasks used (issue 14): the array's last outcome may wait a few seconds for sacct's figures. */
    private final SlurmUsage usage;

    SlurmTracker(Run run, ClusterBackend.Settler settler, SlurmSettings settings, SlurmCommands commands,
                 SlurmCancel canceller) {
        this(run, settler, settings, commands, canceller, ExitRecords.FILES, System::currentTimeMillis, true);
    }

    /**
     * @param clock    milliseconds: when squeue was last asked and how long an element has been gone (tests turn it)
     * @param askUsage false: sacct is not asked for usage, tasks report what their exit records hold
     */
    SlurmTracker(Run run, ClusterBackend.Settler settler, SlurmSettings settings, SlurmCommands commands,
                 SlurmCancel canceller, ExitRecords records, LongSupplier clock, boolean askUsage) {
        this.usage = new SlurmUsage(run, commands, askUsage ? settings : null);
        this.run = run;
        this.settler = settler;
        this.settings = settings;
        this.commands = commands;
        this.canceller = canceller;
        this.records = records;
        this.clock = clock;
    }

    /**
     * One submitted array and what is known about each of its elements. Only task indices are kept (the manifest
     * builds a task again when it is retried), so a million submitted tasks cost a few int arrays, not task objects.
     */
    private static final class Tracked {
        final java.nio.file.Path dir;
        final int attempt;
        final int[][] tasks;
        final String jobId;
        final boolean[][] done;
        final String[] state;
        /** Per element, the node squeue last named for it (where a NODE_FAIL happened), or null. */
        final String[] node;
        /** Per element: squeue listed it as PENDING last time it was asked (its exit record is not looked for). */
        final boolean[] queuedPending;
        /** squeue has answered for this array since it was added. */
        boolean seenBySqueue;
        final long[] goneSince;
        /** Exit codes >= 128 read from exit records, kept until SLURM's final state is known; NONE if none. */
        final int[][] signalled;

        Tracked(ArrayJob job, String jobId) {
            this.dir = job.dir();
            this.attempt = job.attempt();
            this.jobId = jobId;
            int n = job.elements().size();
            this.tasks = new int[n][];
            this.done = new boolean[n][];
            this.signalled = new int[n][];
            for (int e = 0; e < n; e++) {
                tasks[e] = job.elements().get(e).stream().mapToInt(TaskSpec::index).toArray();
                done[e] = new boolean[job.elements().get(e).size()];
                signalled[e] = new int[job.elements().get(e).size()];
                java.util.Arrays.fill(signalled[e], NONE);
            }
            this.state = new String[n];
            this.node = new String[n];
            java.util.Arrays.fill(state, "PENDING"); // as the lane recorded at submission
            this.queuedPending = new boolean[n];
            this.goneSince = new long[n];
        }

        /** Whether an exit record may have grown: some open element is running, gone, or not yet seen by squeue. */
        boolean active() {
            if (!seenBySqueue) {
                return true;
            }
            for (int e = 0; e < done.length; e++) {
                if (!queuedPending[e] && open(e)) {
                    return true;
                }
            }
            return false;
        }

        /** Whether element e has a task whose exit record line has not been read yet. */
        boolean awaitsRecord(int e) {
            for (int p = 0; p < done[e].length; p++) {
                if (!done[e][p] && signalled[e][p] == NONE) {
                    return true;
                }
            }
            return false;
        }

        boolean open(int e) {
            for (boolean d : done[e]) {
                if (!d) {
                    return true;
                }
            }
            return false;
        }

        boolean open() {
            for (int e = 0; e < done.length; e++) {
                if (open(e)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** Follows the run's arrays on the cluster scheduler until the run has finished. */
    void start(ClusterScheduler scheduler) {
        poller = scheduler.poller("run " + run.id() + " (slurm)", this::pollCycle, settings.pollInitial(),
                settings.pollMax()).start();
    }

    void stop() {
        if (poller != null) {
            poller.stop();
        }
    }

    void add(ArrayJob job, String jobId) {
        synchronized (arrays) {
            arrays.add(new Tracked(job, jobId));
        }
        wake();
    }

    /** The run's cancel handler: scancel every array of the run (at most 100 ids per call). */
    void cancel() {
        cancelRequested = true;
        List<String> ids;
        synchronized (arrays) {
            ids = arrays.stream().filter(Tracked::open).map(t -> t.jobId).toList();
        }
        if (!ids.isEmpty()) {
            LOG.info("run {}: scancel {}", run.id(), ids);
            canceller.cancel(ids);
        }
        wake();
    }

    private void wake() {
        if (poller != null) {
            poller.wake();
        }
    }

    /** A cycle on the scheduler: progress (a task ended) or a cancel keeps the interval short. */
    private boolean pollCycle() {
        if (run.finished().isDone()) {
            stop();
            return false;
        }
        return cycle() || cancelRequested;
    }

    /** One poll cycle; true if a task finished or an ended array's usage is still awaited (keeps cycles short). */
    boolean cycle() {
        List<Tracked> open;
        synchronized (arrays) {
            arrays.removeIf(t -> !t.open());
            open = new ArrayList<>(arrays);
        }
        List<Integer> retried = new ArrayList<>();
        boolean progress = usage.release(clock.getAsLong(), cancelRequested, retried);
        // 1. exit records: the primary truth; one listing per array that may have new ones, one read per element
        // with tasks still to end
        for (Tracked t : open) {
            if (!t.active()) {
                continue;
            }
            java.util.Set<Integer> written = records.written(t.dir);
            for (int e : written) {
                if (e >= t.done.length || !t.awaitsRecord(e)) {
                    continue;
                }
                Map<Integer, ExitRecords.Exit> ended = records.read(t.dir, e);
                int[] tasks = t.tasks[e];
                for (int p = 0; p < tasks.length; p++) {
                    int task = tasks[p];
                    ExitRecords.Exit read = ended.get(task);
                    if (!t.done[e][p] && t.signalled[e][p] == NONE && read != null) {
                        int code = read.code();
                        usage.measured(t.jobId, t.attempt, t.tasks, e, task, read.usage());
                        if (code >= 128 && !cancelRequested) {
                            // killed by a signal: maybe SLURM's doing (TIMEOUT, OUT_OF_MEMORY); decided once the
                            // element has left the queue and SLURM can say
                            t.signalled[e][p] = code;
                            continue;
                        }
                        t.done[e][p] = true;
                        progress = true;
                        finish(t, e, task, code, code == 0 ? "COMPLETED" : "FAILED", timeoutReason(code), retried);
                    }
                }
            }
        }
        open.removeIf(t -> !t.open());
        // 2. one squeue for all open arrays of the run
        long now = clock.getAsLong();
        if (!open.isEmpty() && (cancelRequested || now - lastSqueue >= settings.squeueMinInterval().toMillis())) {
            lastSqueue = now;
            Map<String, String[]> queued = squeue(open);
            if (queued != null) {
                for (Tracked t : open) {
                    t.seenBySqueue = true;
                    for (int e = 0; e < t.done.length; e++) {
                        if (!t.open(e)) {
                            continue;
                        }
                        String[] entry = queued.get(SLURM.format(t.jobId, e));
                        t.queuedPending[e] = entry != null && entry[0].equals("PENDING");
                        if (entry != null) {
                            t.goneSince[e] = 0;
                            String node = entry[2].isEmpty() || entry[2].startsWith("(") ? null : entry[2];
                            if (!entry[0].equals(t.state[e]) || (node != null && !node.equals(t.node[e]))) {
                                t.state[e] = entry[0];
                                t.node[e] = node != null ? node : t.node[e];
                                int[] tasks = t.tasks[e];
                                for (int p = 0; p < tasks.length; p++) {
                                    if (!t.done[e][p]) {
                                        run.taskBackend(tasks[p], null, entry[0], node);
                                    }
                                }
                            }
                        } else if (t.goneSince[e] == 0) {
                            t.goneSince[e] = now;
                        }
                    }
                }
                // 3. elements that left the queue without exit record lines for all their tasks
                for (Tracked t : open) {
                    List<Integer> gone = new ArrayList<>();
                    for (int e = 0; e < t.done.length; e++) {
                        if (t.open(e) && t.goneSince[e] > 0
                                && (cancelRequested || now - t.goneSince[e] >= settings.exitGrace().toMillis())) {
                            gone.add(e);
                        }
                    }
                    if (!gone.isEmpty()) {
                        progress |= resolveGone(t, gone, retried);
                    }
                }
            }
        }
        if (!retried.isEmpty() && !run.isCancelled()) {
            settler.retry(retried);
        }
        return progress || usage.holding();
    }

    /** squeue for all the arrays: element key "jobId_index" to {state, reason, node}; null if squeue failed. */
    private Map<String, String[]> squeue(List<Tracked> open) {
        String ids = open.stream().map(t -> t.jobId).distinct().collect(Collectors.joining(","));
        SlurmCommands.Result result = commands.run("squeue", List.of(settings.squeue(), "--noheader", "--array",
                "--jobs=" + ids, "--format=%F|%K|%T|%r|%N"));
        Map<String, String[]> queued = new HashMap<>();
        if (!result.ok()) {
            if (result.err().contains("Invalid job id")) {
                return queued; // every job has left the controller's memory
            }
            if (!squeueFailing) {
                LOG.warn("run {}: squeue failed ({}); will keep trying", run.id(), result.message());
            }
            squeueFailing = true;
            return null;
        }
        if (squeueFailing) {
            LOG.info("run {}: squeue answers again", run.id());
            squeueFailing = false;
        }
        for (String line : result.out().split("\n")) {
            String[] f = line.strip().split("\\|", -1);
            if (f.length >= 4) {
                // squeue's %F_%K is the backend id; %N the node (empty while pending)
                queued.put(f[0] + "_" + f[1], new String[]{f[2], f[3], f.length > 4 ? f[4].strip() : ""});
            }
        }
        return queued;
    }

    private boolean resolveGone(Tracked t, List<Integer> gone, List<Integer> retried) {
        Map<Integer, Final> finals = cancelRequested ? Map.of() : SlurmFinalStates.ask(commands, settings, run.id(), t.jobId);
        if (finals == null) {
            return false; // SLURM could not be asked: try again next cycle
        }
        for (int e : gone) {
            Final f = finals.get(e);
            if (f == null && !cancelRequested) {
                f = new Final("UNKNOWN", "left the SLURM queue without an exit record, and neither scontrol nor sacct"
                        + " knows job " + SLURM.format(t.jobId, e) + " any more", Integer.MIN_VALUE);
            }
            int[] tasks = t.tasks[e];
            boolean first = true;
            // lines written between the first step of this cycle and now
            Map<Integer, ExitRecords.Exit> ended = t.awaitsRecord(e) ? records.read(t.dir, e) : Map.of();
            for (int p = 0; p < tasks.length; p++) {
                if (t.done[e][p]) {
                    continue;
                }
                int task = tasks[p];
                t.done[e][p] = true;
                ExitRecords.Exit late = t.signalled[e][p] != NONE ? null : ended.get(task);
                if (late != null) {
                    usage.measured(t.jobId, t.attempt, t.tasks, e, task, late.usage());
                }
                if (t.signalled[e][p] != NONE || late != null) {
                    // killed by a signal, or written between the first step of this cycle and now
                    int code = late != null ? late.code() : t.signalled[e][p];
                    first = false;
                    if (code >= 128 && f != null && KILLED_BY_SLURM.contains(f.state())) {
                        finish(t, e, task, code, f.state(), f.describe(), retried);
                    } else {
                        finish(t, e, task, code, code == 0 ? "COMPLETED" : "FAILED", null, retried);
                    }
                    continue;
                }
                if (cancelRequested || run.isCancelled()) {
                    run.taskBackend(task, null, "CANCELLED");
                    run.taskFinished(task, t.attempt, TaskState.CANCELLED, Integer.MIN_VALUE,
                            "run cancelled");
                    continue;
                }
                String reason = first ? f.describe() + ", no exit code written"
                        : "not run: its batch's job ended " + f.state() + " before this task started";
                first = false;
                finish(t, e, task, f.exitCode(), f.state(), reason, retried);
            }
        }
        return true;
    }

    /** coreutils timeout exits 124 when the manifest's per-task limit ended the task. */
    private String timeoutReason(int code) {
        java.time.Duration limit = run.plan().manifest().timeout();
        return code == TimedOut.EXIT_CODE && limit != null ? TimedOut.reason(limit) : null;
    }

    private void finish(Tracked t, int element, int task, int exitCode, String backendState, String reason,
                        List<Integer> retried) {
        Settlement.Outcome outcome = new Settlement.Outcome(exitCode, backendState, reason,
                reason != null && exitCode == TimedOut.EXIT_CODE ? Settlement.Cause.TIMEOUT
                        : Settlement.Cause.of(backendState), t.node[element]);
        java.util.function.Consumer<List<Integer>> settle = toRetry -> {
            if (settler.settle(task, t.attempt, outcome)) {
                toRetry.add(task);
            }
        };
        if (t.open()) {
            settle.accept(retried);
        } else { // the array's last task: its outcome (maybe the run's end) may wait for the array's usage figures
            usage.ended(t.jobId, t.attempt, t.tasks, cancelRequested, clock.getAsLong(), retried, settle);
        }
    }
}
