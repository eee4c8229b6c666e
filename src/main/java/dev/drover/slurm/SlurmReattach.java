package dev.drover.slurm;

import dev.drover.cluster.BackendId;
import dev.drover.manifest.TaskSpec;
import dev.drover.run.Run;
import dev.drover.run.TaskState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.drover.cluster.BackendId.Format.SLURM;

/** The SLURM lane after a restart: which arrays to follow again, which to cancel, which tasks to run again. */
final class SlurmReattach {

    private static final Logger LOG = LoggerFactory.getLogger(SlurmReattach.class);
    /** squeue calls at a restart before drover gives up asking (1+2+4+8 s of waiting with the defaults). */
    private static final int RECOVERY_QUERIES = 5;
    /** The job id journalled for an uncommitted array once a restart has cancelled it and kept its results. */
    private static final String ABANDONED = "-";

    private final SlurmLane lane;
    private final SlurmSettings settings;
    private final SlurmCommands commands;
    private final SlurmCancel canceller;

    SlurmReattach(SlurmLane lane, SlurmSettings settings, SlurmCommands commands, SlurmCancel canceller) {
        this.lane = lane;
        this.settings = settings;
        this.commands = commands;
        this.canceller = canceller;
    }

    /**
     * A run rebuilt after a restart: its arrays that SLURM still has (or had while drover was away) are followed
     * again instead of submitted again. An array counts once its submission line with the job id is in the journal:
     * that line is written after the backend id of every task of the array, so all of them are known. Those tasks go
     * back to a tracker, which reads their exit files and asks SLURM about the rest as usual. An array without it
     * (drover died between sbatch's answer and that line) is cancelled, found by the job ids already journalled and
     * by its comment; its tasks that had written exit code 0 count as done, the others run again in a new array.
     */
    void reattach(Run run) {
        if (!run.plan().strategy().isSlurm()) {
            return;
        }
        Map<String, String> keyOfJob = new java.util.HashMap<>();
        List<String> uncommitted = new ArrayList<>();
        run.submissions().forEach((key, jobId) -> {
            if (jobId.isEmpty()) {
                uncommitted.add(key);
            } else if (!jobId.equals(ABANDONED)) {
                keyOfJob.put(jobId, key);
            }
        });
        // element e of the array holds its tasks in index order
        Map<String, java.util.TreeMap<Integer, List<TaskSpec>>> byJob = new java.util.LinkedHashMap<>();
        Set<String> orphans = new java.util.LinkedHashSet<>();
        run.tasksAtBackend().forEach((index, text) -> {
            BackendId id = SLURM.parse(text);
            if (id == null || !keyOfJob.containsKey(id.job())) {
                if (id != null) {
                    orphans.add(id.job()); // never a job id drover did not write whole: it could be someone else's
                }
                run.requeue(index);
                return;
            }
            byJob.computeIfAbsent(id.job(), j -> new java.util.TreeMap<>())
                    .computeIfAbsent(id.element(), e -> new ArrayList<>())
                    .add(run.plan().manifest().tasks().task(index));
        });
        if (!uncommitted.isEmpty()) {
            cancelUncommitted(run, uncommitted, orphans);
        }
        if (byJob.isEmpty()) {
            return;
        }
        SlurmLane.LaneRun lane = this.lane.laneRun(run);
        byJob.forEach((jobId, elements) -> {
            String key = keyOfJob.get(jobId);
            List<List<TaskSpec>> indexed = new ArrayList<>();
            for (int e = 0; e <= elements.lastKey(); e++) {
                indexed.add(elements.getOrDefault(e, List.of())); // elements whose tasks all ended stay empty
            }
            int attempt = run.attempts(indexed.stream().filter(l -> !l.isEmpty()).findFirst().orElseThrow()
                    .get(0).index());
            ArrayJob job = ArrayLayout.array(run.id(), run.dir(), run.plan(), key, indexed, attempt);
            lane.tracker.add(job, jobId);
            LOG.info("run {}: re-attached to job {} ({}, {} tasks still open)", run.id(), jobId, key,
                    job.taskCount());
        });
    }

    /**
     * Cancels the arrays whose submission was not committed: the job ids their tasks' backend lines name, and any
     * job whose comment names one of the keys (sbatch answered, nothing was journalled). Waits until SLURM has
     * ended them before reading their exit files, so that no task that is still finishing is run again.
     */
    private void cancelUncommitted(Run run, List<String> keys, Set<String> jobIds) {
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
            awaitGone(run, jobIds);
        }
        for (String key : keys) {
            keepSucceeded(run, ArrayLayout.dir(run.dir(), key));
            run.submission(key, ABANDONED); // settled: the next restart leaves it alone
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
    private void awaitGone(Run run, Set<String> jobIds) {
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

    /** Tasks of a cancelled array whose exit file says 0 succeeded; they are not run again. */
    private static void keepSucceeded(Run run, Path dir) {
        for (int index : ExitRecords.FILES.written(dir)) {
            if (index < run.taskCount() && run.taskState(index) == TaskState.PENDING
                    && ExitRecords.FILES.read(dir, index).orElse(-1) == 0) {
                int attempt = run.attempts(index);
                run.taskStarted(index, attempt);
                run.taskFinished(index, attempt, TaskState.SUCCEEDED, 0, null);
            }
        }
    }
}
