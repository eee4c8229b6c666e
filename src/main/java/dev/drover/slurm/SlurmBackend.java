package dev.drover.slurm;

import dev.drover.cluster.BackendId;
import dev.drover.cluster.ClusterBackend;
import dev.drover.cluster.ClusterScheduler;
import dev.drover.cluster.GroupSpec;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.Strategy;
import dev.drover.run.Run;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * SLURM under the cluster lane ({@link dev.drover.cluster.ClusterLane}): a group is a job array of at most
 * MaxArraySize elements ({@link ArrayLayout}: one task per element for slurm, one batch for slurm+batching), written
 * as a script and submitted through the {@code slurm-sbatch} route (camel-exec running sbatch with an argv list);
 * a run's arrays are followed by its {@link SlurmTracker}; cancel is scancel; re-attach is {@link SlurmReattach}.
 * <p>
 * sbatch errors: transient ones (controller unreachable, socket timeout) are retried with backoff up to
 * {@code drover.slurm.transient-retries} times; a submit limit (AssocMaxSubmitJobLimit, QOSMaxSubmitJobPerUserLimit,
 * ...) waits and retries until the run is cancelled; anything else (unknown partition, memory that cannot be
 * satisfied) fails the array's tasks, and every later array of the run, with SLURM's own message.
 */
public final class SlurmBackend implements ClusterBackend<SlurmGroup> {

    private static final Logger LOG = LoggerFactory.getLogger(SlurmBackend.class);
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

    private final SlurmSettings settings;
    private final SlurmCommands commands;
    private final SlurmLimits limits;
    private final SlurmCancel canceller;
    private final ClusterScheduler scheduler;
    private final MeterRegistry meters;

    public SlurmBackend(SlurmSettings settings, ClusterScheduler scheduler, MeterRegistry meters) {
        this.settings = settings;
        this.scheduler = scheduler;
        this.meters = meters;
        this.commands = new SlurmCommands(settings.commandTimeout(), meters);
        this.limits = new SlurmLimits(settings, commands);
        this.canceller = new SlurmCancel(settings, commands);
    }

    public SlurmLimits limits() {
        return limits;
    }

    @Override
    public boolean runs(Strategy strategy) {
        return strategy.isSlurm();
    }

    @Override
    public BackendId.Format ids() {
        return BackendId.Format.SLURM;
    }

    /** A full array's worth of tasks: the splitter cuts the arrays, the lane never waits for more. */
    @Override
    public int groupSize(Run run) {
        return limits.maxArraySize() * ArrayLayout.tasksPerElement(run.plan());
    }

    /** a0001, a0002, ...: a recovered run goes on numbering after the arrays it already submitted. */
    @Override
    public Supplier<String> keys(Run run) {
        int[] last = {run.submissions().keySet().stream().mapToInt(ArrayLayout::number).max().orElse(0)};
        return () -> {
            synchronized (last) {
                return ArrayLayout.key(++last[0]);
            }
        };
    }

    /** Arrays of the claimed tasks; a rerun after a node failure excludes that node where the cluster has others. */
    @Override
    public List<SlurmGroup> prepare(Run run, List<TaskSpec> tasks, GroupSpec given, Supplier<String> keys) {
        GroupSpec spec = given;
        if (!given.avoid().isEmpty() && limits.hasOtherNodes(given.avoid())) {
            String before = given.resources().get("exclude");
            String exclude = (before == null ? "" : before + ",") + String.join(",", new java.util.TreeSet<>(given.avoid()));
            spec = new GroupSpec(given.resources().with(dev.drover.manifest.JobResources.parse(
                    java.util.Map.of("exclude", exclude))), given.avoid());
        }
        int attempt = tasks.stream().mapToInt(t -> run.attempts(t.index())).max().orElse(1);
        List<SlurmGroup> groups = new ArrayList<>();
        for (List<List<TaskSpec>> elements : ArrayLayout.arrays(ArrayLayout.elements(run.plan(), tasks),
                limits.maxArraySize())) {
            groups.add(new SlurmGroup(ArrayLayout.array(run.id(), run.dir(), run.plan(), keys.get(), elements,
                    attempt), spec));
        }
        return groups;
    }

    @Override
    public String key(SlurmGroup group) {
        return group.job().key();
    }

    @Override
    public List<List<TaskSpec>> elements(SlurmGroup group) {
        return group.job().elements();
    }

    @Override
    public Submitted submit(Run run, SlurmGroup group, Consumer<String> rekey) {
        try {
            ArrayLayout.writeScript(group.job(), run.dir(), run.plan(), group.spec().resources(), settings);
        } catch (IOException e) {
            return Submitted.failed("cannot write " + group.job().script() + ": " + e.getMessage(), false);
        } catch (dev.drover.manifest.ManifestException e) {
            return Submitted.failed(e.getMessage(), true); // a setting or runs directory no array can be written with
        } catch (RuntimeException e) {
            return Submitted.failed(e.getMessage(), false);
        }
        return sbatchWithRetries(run, group);
    }

    /** sbatch starts the array at once: nothing to release. */
    @Override
    public String release(Run run, SlurmGroup group, Submitted submitted) {
        return null;
    }

    /** The array's tasks are {@code <job id>_<element>}. */
    @Override
    public String heldJob(String key, String jobId) {
        return jobId;
    }

    @Override
    public Tracking<SlurmGroup> track(Run run, Settler settler) {
        SlurmTracker tracker = new SlurmTracker(run, settler, settings, commands, canceller);
        tracker.start(scheduler);
        return new Tracking<>() {
            @Override
            public void follow(SlurmGroup group, Submitted submitted) {
                tracker.add(group.job(), submitted.jobId());
            }

            @Override
            public void cancel() {
                tracker.cancel();
            }

            @Override
            public void stop() {
                tracker.stop();
            }
        };
    }

    @Override
    public Reattach reattach(Run run, Tracking<SlurmGroup> tracking) {
        return new SlurmReattach(run, settings, commands, canceller,
                (job, jobId) -> tracking.follow(new SlurmGroup(job, GroupSpec.of(run.plan().resources())),
                        Submitted.ok(jobId, null)));
    }

    /** sbatch with retries: the job id, or why not (fatal when SLURM refused the job itself). */
    private Submitted sbatchWithRetries(Run run, SlurmGroup group) {
        Duration wait = settings.submitRetryInitial();
        int transientFailures = 0;
        while (true) {
            SbatchResult result = sbatch(SbatchScript.sbatchArgs(group.job()));
            if (result.jobId() != null) {
                return Submitted.ok(result.jobId(), null);
            }
            String message = result.message();
            String lower = message.toLowerCase(Locale.ROOT);
            boolean limit = SUBMIT_LIMIT.stream().anyMatch(lower::contains);
            boolean transientError = !limit && result.ran() && TRANSIENT.stream().anyMatch(lower::contains);
            if (!limit && !transientError) {
                return Submitted.failed("sbatch refused the job: " + message, true);
            }
            if (transientError && ++transientFailures > settings.transientRetries()) {
                return Submitted.failed("sbatch kept failing (" + transientFailures + " attempts): " + message, false);
            }
            meters.counter(SBATCH_RETRIES).increment();
            LOG.warn("run {}: sbatch {} ({}); retrying in {} ms", run.id(),
                    limit ? "hit a submit limit" : "failed transiently", message, wait.toMillis());
            if (!sleep(run, wait)) {
                return Submitted.NONE; // cancelled: the lane records the tasks as such
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
