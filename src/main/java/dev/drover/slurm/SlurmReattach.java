package dev.drover.slurm;

import dev.drover.cluster.ClusterBackend;
import dev.drover.cluster.ClusterLane;
import dev.drover.manifest.TaskSpec;
import dev.drover.run.Run;
import dev.drover.run.TaskState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.function.BiConsumer;

/**
 * The SLURM side of a restart ({@link ClusterLane#reattach} decides which arrays): a committed array is followed
 * again, its elements' exit records and SLURM's states read as usual; arrays without a commit (drover died between
 * sbatch's answer and that line) are cancelled, found by the job ids already journalled and by their comment; their
 * tasks that had written exit code 0 count as done, the others run again in a new array.
 */
final class SlurmReattach implements ClusterBackend.Reattach {

    private static final Logger LOG = LoggerFactory.getLogger(SlurmReattach.class);
    /** squeue calls at a restart before drover gives up asking (1+2+4+8 s of waiting with the defaults). */
    private static final int RECOVERY_QUERIES = 5;

    private final Run run;
    private final SlurmSettings settings;
    private final SlurmCommands commands;
    private final SlurmCancel canceller;
    private final BiConsumer<ArrayJob, String> follow;

    SlurmReattach(Run run, SlurmSettings settings, SlurmCommands commands, SlurmCancel canceller,
                  BiConsumer<ArrayJob, String> follow) {
        this.run = run;
        this.settings = settings;
        this.commands = commands;
        this.canceller = canceller;
        this.follow = follow;
    }

    /** sbatch starts what it accepts: a committed array has run or runs. */
    @Override
    public boolean neverRan(String key) {
        return false;
    }

    /** Element e of the array holds its tasks in index order; elements whose tasks all ended stay empty. */
    @Override
    public void follow(String key, String jobId, SortedMap<Integer, List<Integer>> elements) {
        List<List<TaskSpec>> indexed = new ArrayList<>();
        for (int e = 0; e <= elements.lastKey(); e++) {
            indexed.add(elements.getOrDefault(e, List.of()).stream()
                    .map(i -> run.plan().manifest().tasks().task(i)).toList());
        }
        int attempt = run.attempts(elements.values().iterator().next().get(0));
        ArrayJob job = ArrayLayout.array(run.id(), run.dir(), run.plan(), key, indexed, attempt);
        follow.accept(job, jobId);
        LOG.info("run {}: re-attached to job {} ({}, {} tasks still open)", run.id(), jobId, key, job.taskCount());
    }

    /**
     * Cancels the arrays whose submission was not committed: the job ids their tasks' backend lines name, and any
     * job whose comment names one of the keys (sbatch answered, nothing was journalled). Waits until SLURM has
     * ended them before reading their exit records, so that no task that is still finishing is run again.
     */
    @Override
    public void abandon(List<String> keys, Set<String> journalled) {
        Set<String> jobIds = new LinkedHashSet<>(journalled);
        SlurmCommands.Result queued = retried(List.of(settings.squeue(), "--noheader", "--states=all",
                "--name=" + SbatchScript.jobName(run.plan().manifest().name()), "--format=%F|%k"));
        if (queued.ok()) {
            for (String line : queued.out().split("\\n")) {
                String[] f = line.strip().split("\\|", 2);
                if (f.length == 2 && keys.stream().anyMatch(key -> f[1].equals(SbatchScript.comment(run.id(), key)))) {
                    jobIds.add(f[0]);
                }
            }
        } else {
            LOG.error("run {}: squeue keeps failing ({}); an array submitted just before drover stopped may still run"
                    + " and its tasks run a second time", run.id(), queued.message());
        }
        if (!jobIds.isEmpty()) {
            LOG.warn("run {}: cancelling jobs {} whose submission drover had not recorded", run.id(), jobIds);
            canceller.cancel(jobIds);
            awaitGone(jobIds);
        }
        for (String key : keys) {
            keepSucceeded(ArrayLayout.dir(run.dir(), key));
        }
    }

    /** squeue, asked again with backoff while the controller does not answer (it may be restarting too). */
    private SlurmCommands.Result retried(List<String> argv) {
        long wait = settings.submitRetryInitial().toMillis();
        SlurmCommands.Result result = commands.run("squeue", argv);
        for (int attempt = 1; !result.ok() && attempt < RECOVERY_QUERIES; attempt++) {
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return result;
            }
            wait = Math.min(wait * 2, settings.submitRetryMax().toMillis());
            result = commands.run("squeue", argv);
        }
        return result;
    }

    /** Waits (up to a minute) until none of the jobs is pending, running or completing. */
    private void awaitGone(Set<String> jobIds) {
        List<String> argv = List.of(settings.squeue(), "--noheader", "--array", "--jobs=" + String.join(",", jobIds),
                "--states=PENDING,RUNNING,COMPLETING,CONFIGURING,SUSPENDED", "--format=%i");
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            SlurmCommands.Result left = commands.run("squeue", argv);
            if ((left.ok() && left.out().isBlank()) || left.err().contains("Invalid job id")) {
                return;
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        LOG.warn("run {}: jobs {} were still ending a minute after scancel", run.id(), jobIds);
    }

    /** Tasks of a cancelled array whose exit record says 0 succeeded; they are not run again. */
    private void keepSucceeded(Path dir) {
        for (int element : ExitRecords.FILES.written(dir)) {
            ExitRecords.FILES.read(dir, element).forEach((index, exit) -> {
                if (index < run.taskCount() && run.taskState(index) == TaskState.PENDING && exit.code() == 0) {
                    int attempt = run.attempts(index);
                    run.taskStarted(index, attempt);
                    if (exit.usage() != null) {
                        run.taskUsage(index, attempt, exit.usage());
                    }
                    run.taskFinished(index, attempt, TaskState.SUCCEEDED, 0, null);
                }
            });
        }
    }
}
