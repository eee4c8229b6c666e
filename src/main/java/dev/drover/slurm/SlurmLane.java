package dev.drover.slurm;

import dev.drover.cluster.ClusterScheduler;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.Strategy;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.TaskBatch;
import dev.drover.run.TaskState;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.drover.cluster.BackendId.Format.SLURM;

/**
 * The SLURM lane (route {@code lane-slurm}): gathers the batches the accept stage sends into job arrays of at most
 * MaxArraySize elements, writes each array's script, submits it through the {@code slurm-sbatch} route (camel-exec
 * running sbatch with an argv list) and hands the job to the run's {@link SlurmTracker}.
 * <p>
 * For slurm each batch is one task and becomes one array element; for slurm+batching each batch becomes one element
 * whose tasks run in order. An array is submitted when it is full or when the splitter has sent the run's last batch,
 * so at most MaxArraySize tasks wait here, and the number of sbatch calls is ceil(elements / MaxArraySize).
 * <p>
 * sbatch errors: transient ones (controller unreachable, socket timeout) are retried with backoff up to
 * {@code drover.slurm.transient-retries} times; a submit limit (AssocMaxSubmitJobLimit, QOSMaxSubmitJobPerUserLimit,
 * ...) waits and retries until the run is cancelled; anything else (unknown partition, memory that cannot be
 * satisfied) fails the array's tasks, and every later array of the run, with SLURM's own message.
 */
public final class SlurmLane {

    private static final Logger LOG = LoggerFactory.getLogger(SlurmLane.class);
    public static final String SBATCH_ENDPOINT = "direct:slurm-sbatch";
    public static final String ARGS_HEADER = "DroverSbatchArgs";
    /** The meter counting sbatch calls that failed transiently or hit a submit limit and were retried. */
    public static final String SBATCH_RETRIES = "drover.slurm.sbatch.retries";

    private static final Pattern JOB_ID = Pattern.compile("^\\s*(\\d+)(;\\S*)?\\s*$");
    private static final List<String> TRANSIENT = List.of("socket timed out", "unable to contact slurm controller",
            "connection refused", "temporarily unavailable", "transient", "zero bytes were transmitted",
            "communication connection failure", "connection reset", "slurm_persist_conn");
    private static final List<String> SUBMIT_LIMIT = List.of("assocmaxsubmitjoblimit", "qosmaxsubmitjobperuserlimit",
            "qosmaxsubmitjobperaccount", "assocgrpsubmitjobslimit", "qosgrpsubmitjob", "maxsubmitjob",
            "job violates accounting/qos policy", "slurm temporarily unable to accept job");

    private final CamelContext context;
    private final RunRegistry runs;
    private final SlurmSettings settings;
    private final SlurmCommands commands;
    private final SlurmLimits limits;
    private final SlurmCancel canceller;
    private final ClusterScheduler scheduler;
    private final MeterRegistry meters;
    private final Map<String, LaneRun> active = new ConcurrentHashMap<>();
    private volatile ExecutorService resubmitter;

    public SlurmLane(CamelContext context, RunRegistry runs, SlurmSettings settings, ClusterScheduler scheduler,
                     MeterRegistry meters) {
        this.context = context;
        this.runs = runs;
        this.settings = settings;
        this.scheduler = scheduler;
        this.meters = meters;
        this.commands = new SlurmCommands(settings.commandTimeout(), meters);
        this.limits = new SlurmLimits(settings, commands);
        this.canceller = new SlurmCancel(settings, commands);
        SlurmReattach reattach = new SlurmReattach(this, settings, commands, canceller);
        runs.onRecovered(reattach::reattach);
    }

    public SlurmLimits limits() {
        return limits;
    }

    /** What this lane knows about one run: the elements waiting for their array, the tracker, a fatal sbatch error. */
    final class LaneRun {
        final Run run;
        final SlurmTracker tracker;
        final List<List<TaskSpec>> waiting = new ArrayList<>();
        int arrays;
        volatile String fatalError;

        LaneRun(Run run) {
            this.run = run;
            this.tracker = new SlurmTracker(run, SlurmLane.this, settings, commands, canceller);
            // a recovered run goes on numbering after the arrays it already submitted
            this.arrays = run.submissions().keySet().stream().mapToInt(ArrayLayout::number).max().orElse(0);
        }

        synchronized String nextKey() {
            return ArrayLayout.key(++arrays);
        }
    }

    /** Route entry: one batch of a run; {@code last} is the splitter's CamelSplitComplete. */
    public void accept(TaskBatch batch, Boolean last) {
        Run run = runs.find(batch.runId());
        if (run == null || run.finished().isDone()) {
            return; // cancelled and finished between the splitter handing the batch out and now
        }
        LaneRun lane = laneRun(run);
        List<List<TaskSpec>> full = null;
        synchronized (lane) {
            lane.waiting.addAll(lane.run.plan().strategy() == Strategy.SLURM_BATCHING ? List.of(batch.tasks())
                    : ArrayLayout.elements(lane.run.plan(), batch.tasks()));
            if (lane.waiting.size() >= limits.maxArraySize() || Boolean.TRUE.equals(last)) {
                full = new ArrayList<>(lane.waiting);
                lane.waiting.clear();
            }
        }
        if (full != null) {
            submitElements(lane, full, 1);
        }
    }

    LaneRun laneRun(Run run) {
        return active.computeIfAbsent(run.id(), id -> {
            LaneRun lane = new LaneRun(run);
            run.onCancel(lane.tracker::cancel);
            run.onFinish(() -> {
                active.remove(id);
                lane.tracker.stop();
            });
            lane.tracker.start(scheduler);
            return lane;
        });
    }

    /**
     * Called by the tracker for tasks whose attempt failed: a new, smaller array for their next attempt, submitted
     * off the tracker's thread (sbatch may wait out a submit limit for minutes; meanwhile the scheduler's threads go
     * on following every run).
     */
    void resubmit(Run run, List<TaskSpec> tasks, int attempt) {
        LaneRun lane = active.get(run.id());
        if (lane == null || tasks.isEmpty()) {
            return;
        }
        resubmitter().execute(() -> submitElements(lane, ArrayLayout.elements(run.plan(), tasks), attempt));
    }

    /** Made on the first retry by Camel's ExecutorServiceManager, which shuts it down with the context. */
    private ExecutorService resubmitter() {
        if (resubmitter == null) {
            synchronized (this) {
                if (resubmitter == null) {
                    resubmitter = context.getExecutorServiceManager().newCachedThreadPool(this, "drover-slurm-retry");
                }
            }
        }
        return resubmitter;
    }

    /** Splits elements into arrays of at most MaxArraySize and submits each. */
    private void submitElements(LaneRun lane, List<List<TaskSpec>> elements, int attempt) {
        for (List<List<TaskSpec>> array : ArrayLayout.arrays(elements, limits.maxArraySize())) {
            submitArray(lane, array, attempt);
        }
    }

    private void submitArray(LaneRun lane, List<List<TaskSpec>> candidates, int attempt) {
        Run run = lane.run;
        // Claim each task for this attempt; tasks of a cancelled run are not submitted.
        List<List<TaskSpec>> elements = new ArrayList<>();
        for (List<TaskSpec> element : candidates) {
            List<TaskSpec> claimed = new ArrayList<>(element.size());
            for (TaskSpec task : element) {
                if (run.taskStarted(task.index(), attempt)) {
                    claimed.add(task);
                }
            }
            if (!claimed.isEmpty()) {
                elements.add(claimed);
            }
        }
        if (elements.isEmpty()) {
            return;
        }
        String key = lane.nextKey();
        ArrayJob job = ArrayLayout.array(run.id(), run.dir(), run.plan(), key, elements, attempt);
        if (lane.fatalError != null) {
            failAll(run, job, lane.fatalError);
            return;
        }
        try {
            ArrayLayout.writeScript(job, run.dir(), run.plan());
        } catch (IOException e) {
            failAll(run, job, "cannot write " + job.script() + ": " + e.getMessage());
            return;
        } catch (RuntimeException e) {
            failAll(run, job, e.getMessage());
            return;
        }
        run.submission(key, null);
        String jobId = sbatchWithRetries(lane, job);
        if (jobId == null) {
            return; // failed or cancelled: the tasks are recorded already
        }
        for (int e = 0; e < job.elements().size(); e++) {
            for (TaskSpec task : job.elements().get(e)) {
                run.taskBackend(task.index(), SLURM.format(jobId, e), "PENDING");
            }
        }
        // Written (and synced) after every task's backend line: a restart trusts only arrays it finds committed.
        run.submission(key, jobId);
        lane.tracker.add(job, jobId);
        if (run.isCancelled()) {
            canceller.cancel(List.of(jobId)); // the cancel handler may have run before this job existed
        }
        LOG.info("run {}: submitted {} ({} elements, {} tasks) as job {}", run.id(), key, job.elements().size(),
                job.taskCount(), jobId);
    }

    /** sbatch with retries; returns the job id, or null after recording why the tasks did not run. */
    private String sbatchWithRetries(LaneRun lane, ArrayJob job) {
        Run run = lane.run;
        Duration wait = settings.submitRetryInitial();
        int transientFailures = 0;
        while (true) {
            SbatchResult result = sbatch(SbatchScript.sbatchArgs(job));
            if (result.jobId() != null) {
                return result.jobId();
            }
            String message = result.message();
            String lower = message.toLowerCase(Locale.ROOT);
            boolean limit = SUBMIT_LIMIT.stream().anyMatch(lower::contains);
            boolean transientError = !limit && result.ran() && TRANSIENT.stream().anyMatch(lower::contains);
            if (!limit && !transientError) {
                lane.fatalError = "sbatch refused the job: " + message;
                LOG.error("run {}: {}", run.id(), lane.fatalError);
                failAll(run, job, lane.fatalError);
                return null;
            }
            if (transientError && ++transientFailures > settings.transientRetries()) {
                String reason = "sbatch kept failing (" + transientFailures + " attempts): " + message;
                LOG.error("run {}: {}", run.id(), reason);
                failAll(run, job, reason);
                return null;
            }
            meters.counter(SBATCH_RETRIES).increment();
            LOG.warn("run {}: sbatch {} ({}); retrying in {} ms", run.id(),
                    limit ? "hit a submit limit" : "failed transiently", message, wait.toMillis());
            if (!sleep(run, wait)) {
                cancelAll(run, job);
                return null;
            }
            wait = wait.multipliedBy(2).compareTo(settings.submitRetryMax()) > 0 ? settings.submitRetryMax()
                    : wait.multipliedBy(2);
        }
    }

    /** What one sbatch call gave: the job id, or why not; {@code ran} is false when sbatch could not be run. */
    record SbatchResult(String jobId, String message, boolean ran) {
    }

    SbatchResult sbatch(List<String> args) {
        Exchange exchange = scheduler.producer().send(SBATCH_ENDPOINT, ex -> {
            ex.getIn().setHeader(ARGS_HEADER, args);
            ex.getIn().setBody(null);
        });
        Integer rc = exchange.getException() != null ? null
                : exchange.getMessage().getHeader("CamelExecExitValue", Integer.class);
        commands.count("sbatch", rc != null && rc == 0);
        if (exchange.getException() != null) {
            return new SbatchResult(null, "cannot run sbatch: " + exchange.getException().getMessage(), false);
        }
        String out = exchange.getMessage().getBody(String.class);
        String err = exchange.getMessage().getHeader("CamelExecStderr", String.class);
        out = out == null ? "" : out;
        err = err == null ? "" : err.strip();
        if (rc != null && rc == 0) {
            Matcher m = JOB_ID.matcher(out);
            if (m.matches()) {
                return new SbatchResult(m.group(1), null, true);
            }
            return new SbatchResult(null, "sbatch printed no job id: '" + out.strip() + "' " + err, true);
        }
        String message = !err.isEmpty() ? err : out.strip();
        return new SbatchResult(null, (message.isEmpty() ? "" : message + " ") + "(sbatch exit status " + rc + ")",
                true);
    }


    private static void failAll(Run run, ArrayJob job, String reason) {
        for (List<TaskSpec> element : job.elements()) {
            for (TaskSpec task : element) {
                run.taskFinished(task.index(), job.attempt(), TaskState.FAILED, Integer.MIN_VALUE, reason);
            }
        }
    }

    private static void cancelAll(Run run, ArrayJob job) {
        for (List<TaskSpec> element : job.elements()) {
            for (TaskSpec task : element) {
                run.taskFinished(task.index(), job.attempt(), TaskState.CANCELLED, Integer.MIN_VALUE, "run cancelled");
            }
        }
    }

    /** Sleeps, waking early when the run is cancelled; false if it was. */
    private static boolean sleep(Run run, Duration wait) {
        long end = System.currentTimeMillis() + wait.toMillis();
        while (!run.isCancelled()) {
            long left = end - System.currentTimeMillis();
            if (left <= 0) {
                return true;
            }
            try {
                Thread.sleep(Math.min(left, 200));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }
}
