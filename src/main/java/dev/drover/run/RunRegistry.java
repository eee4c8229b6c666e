package dev.drover.run;

import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.plan.RunPlan;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * The runs of this process, by id, and the runs directory they live in. {@link #accept} makes a run durable (run
 * directory, manifest copy, resolved plan, journal synced to disk) before anything acknowledges the manifest.
 */
public final class RunRegistry {

    private static final Logger LOG = LoggerFactory.getLogger(RunRegistry.class);
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");
    public static final String PLAN_FILE = "plan.json";
    /** A file that another process (`drover cancel`) creates in a run directory to cancel that run. */
    public static final String CANCEL_REQUEST = "cancel-requested";
    private static final long CANCEL_POLL_MILLIS = 1000;
    private static final com.fasterxml.jackson.databind.ObjectWriter PLAN_WRITER = JsonMapper.builder().build()
            .writerWithDefaultPrettyPrinter();

    private final Path runsDir;
    private final Journals journals = new Journals();
    private final Map<String, Run> active = new ConcurrentHashMap<>();
    private final List<Consumer<Run>> acceptListeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<Run>> recoveryListeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<TaskEnd>> taskEndListeners = new CopyOnWriteArrayList<>();
    /** Manifests being accepted (by SHA-256), so that the same one accepted twice at once makes one run. */
    private final Map<String, java.util.concurrent.CompletableFuture<Run>> accepting = new ConcurrentHashMap<>();
    private final RunDirectories directories;

    /** A registry with no thread of its own: {@link #start} gives it the scheduler it needs to serve. */
    public RunRegistry(Path runsDir) {
        this.runsDir = runsDir;
        this.directories = new RunDirectories(runsDir);
    }

    /**
     * Starts the registry's periodic work on the owner's scheduler (Camel's ExecutorServiceManager in drover, which
     * also stops it): journals forced to disk every {@link Journals#SYNC_MILLIS} ms, and the run directories watched
     * for cancel requests from `drover cancel`.
     */
    public void start(ScheduledExecutorService scheduler) {
        journals.start(scheduler);
        scheduler.scheduleWithFixedDelay(this::cancelRequested, CANCEL_POLL_MILLIS, CANCEL_POLL_MILLIS,
                TimeUnit.MILLISECONDS);
    }

    /** Cancels any active run whose directory has gained a cancel request. */
    private void cancelRequested() {
        for (Run run : active.values()) {
            try {
                if (Files.exists(run.dir().resolve(CANCEL_REQUEST))) {
                    LOG.info("run {}: cancel requested", run.id());
                    run.cancel();
                }
            } catch (RuntimeException e) {
                LOG.warn("run {}: cancelling failed: {}", run.id(), e.toString());
            }
        }
    }

    public Path runsDir() {
        return runsDir;
    }

    /**
     * The directory of run {@code runId}, or null if there is none: a folder right in the runs directory, with a
     * journal (what drover status lists), so that no id such as "..", "." or "a/b" reaches beyond the runs. The one
     * rule of what a run is, for the registry and the commands about one run.
     */
    public static Path runDirectory(Path runsDir, String runId) {
        Path dir;
        try {
            dir = runsDir.resolve(runId).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            return null;
        }
        return runsDir.equals(dir.getParent()) && Files.isRegularFile(dir.resolve(Journal.FILE)) ? dir : null;
    }

    /**
     * Accepts a manifest from an intake: a manifest whose content was accepted before (same SHA-256, e.g. a drop
     * folder file that a crash left in place, or a redelivered message) gives back that run instead of a second
     * one, unless {@code once} is false.
     */
    public Run accept(RunPlan plan, Boolean once) {
        if (!Boolean.TRUE.equals(once)) {
            return accept(plan);
        }
        // Only the look-up is under the lock: the run's files and its synced journal are written outside it, so
        // that intakes accept different manifests side by side; the same manifest twice waits for the first.
        String sha256 = plan.manifest().sha256();
        java.util.concurrent.CompletableFuture<Run> mine = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CompletableFuture<Run> first;
        synchronized (this) {
            first = accepting.putIfAbsent(sha256, mine);
            if (first == null) {
                Run earlier;
                try {
                    earlier = earlierRun(sha256);
                } catch (RuntimeException e) {
                    accepting.remove(sha256);
                    throw e;
                }
                if (earlier != null) {
                    accepting.remove(sha256);
                    LOG.info("manifest {} was accepted before as run {}: not starting it again",
                            plan.manifest().name(), earlier.id());
                    return earlier;
                }
            }
        }
        if (first != null) {
            return first.join();
        }
        try {
            Run run = accept(plan);
            mine.complete(run);
            return run;
        } catch (RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            accepting.remove(sha256);
        }
    }

    private Run earlierRun(String sha256) {
        for (Run run : active.values()) {
            if (run.plan().manifest().sha256().equals(sha256)) {
                return run;
            }
        }
        for (String name : directories.withManifest(sha256)) {
            Path dir = runsDir.resolve(name);
            Recovery.Stored stored = Recovery.peek(dir, sha256);
            if (stored == null) {
                if (!Files.isDirectory(dir)) {
                    directories.gone(name);
                }
                continue; // being made: the acceptance making it is in `accepting`
            }
            Run run;
            try {
                run = adopt(Recovery.load(dir, journals));
            } catch (Journal.OwnedElsewhere e) {
                throw new dev.drover.manifest.ManifestException("manifest", "the same manifest is being run"
                        + " by another drover process as run " + stored.runId() + "; to run it again anyway,"
                        + " use drover serve --allow-duplicate");
            } catch (RuntimeException e) {
                // refused with the reason rather than failed: a queue would roll the message back without end
                throw new dev.drover.manifest.ManifestException("manifest", "was accepted before as run "
                        + stored.runId() + ", which cannot be read (" + e.getMessage() + "): repair or move away "
                        + dir + ", then send the manifest again");
            }
            run.finishIfDone();
            return run;
        }
        return null;
    }

    /**
     * Rebuilds one run of the runs directory so that this process carries it on (drover resume); a finished run
     * comes back finished. Null if there is no such run; {@link Journal.OwnedElsewhere} if a live drover has it.
     */
    public synchronized Run recover(String runId) {
        Run active = this.active.get(runId);
        if (active != null) {
            return active;
        }
        Path dir = runDirectory(runsDir, runId);
        if (dir == null || Recovery.peek(dir, null) == null) {
            return null;
        }
        Run run = adopt(Recovery.load(dir, journals));
        run.finishIfDone();
        return run;
    }

    /** Rebuilds every run of the runs directory that had not finished when the last drover stopped. */
    public synchronized java.util.List<Run> recoverUnfinished() {
        java.util.List<Run> recovered = new java.util.ArrayList<>();
        if (!Files.isDirectory(runsDir)) {
            return recovered;
        }
        try (java.util.stream.Stream<Path> dirs = Files.list(runsDir)) {
            for (Path dir : (Iterable<Path>) dirs::iterator) {
                Recovery.Stored stored = Recovery.peek(dir, null);
                if (stored == null || stored.finished() || active.containsKey(stored.runId())) {
                    continue;
                }
                try {
                    Run run = adopt(Recovery.load(dir, journals));
                    LOG.info("run {} recovered: {} of {} tasks had ended", run.id(), run.done(), run.taskCount());
                    if (!run.finishIfDone()) {
                        recovered.add(run);
                    }
                } catch (Journal.OwnedElsewhere e) {
                    LOG.info("run {} is being run by another drover process: left to it", stored.runId());
                } catch (RuntimeException e) {
                    // One unreadable run directory must not keep the daemon from starting.
                    LOG.error("run directory {} cannot be recovered: {}", dir, e.toString());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return recovered;
    }

    /**
     * Called with every run rebuilt from its directory, before it resumes or finishes: how a cluster lane re-attaches
     * to the jobs a run still has there ({@link Run#tasksAtBackend()}).
     */
    public void onRecovered(Consumer<Run> lane) {
        recoveryListeners.add(lane);
    }

    private Run adopt(Run run) {
        register(run);
        if (!run.finished().isDone()) {
            for (Consumer<Run> lane : recoveryListeners) {
                try {
                    lane.accept(run);
                } catch (RuntimeException e) {
                    // Nothing follows the tasks the cluster holds: they would stay RUNNING and the run never end.
                    LOG.error("run {}: re-attaching to its cluster jobs failed", run.id(), e);
                    String reason = "drover restarted and could not follow this task's cluster job again (" + e
                            + "); see the job's own output";
                    run.tasksAtBackend().keySet().forEach(index -> run.taskFinished(index, run.attempts(index),
                            TaskState.FAILED, Integer.MIN_VALUE, reason));
                }
            }
        }
        return run;
    }

    private Run register(Run run) {
        run.reportTaskEndsTo(this);
        if (!run.finished().isDone()) {
            active.put(run.id(), run);
            run.onFinish(() -> active.remove(run.id()));
        }
        return run;
    }

    /** A new, empty run directory named {@code <name>-<yyyyMMdd-HHmmss>-<4 hex>}; never one that exists. */
    private Path newRunDirectory(String name) throws IOException {
        Files.createDirectories(runsDir);
        while (true) {
            Path dir = runsDir.resolve(name + "-" + LocalDateTime.now().format(STAMP) + "-"
                    + String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000)));
            try {
                return Files.createDirectory(dir);
            } catch (java.nio.file.FileAlreadyExistsException taken) {
                // same name, same second, same suffix: draw again
            }
        }
    }

    public Run accept(RunPlan plan) {
        long now = System.currentTimeMillis();
        Path dir;
        try {
            dir = newRunDirectory(plan.manifest().name());
            // known before its files exist: the next acceptance's look-up (earlierRun) need not read them
            directories.made(dir.getFileName().toString(), plan.manifest().sha256());
            Files.createDirectories(dir.resolve("logs"));
            String manifestFile = plan.manifest().text().json() ? "manifest.json" : "manifest.yaml";
            plan.manifest().text().copyTo(dir.resolve(manifestFile));
            Map<String, Object> resolved = new LinkedHashMap<>();
            resolved.put("manifest", manifestFile);
            resolved.put("strategy", plan.strategy().cliName());
            resolved.put("jobs", plan.jobs());
            resolved.put("jobResources", plan.resources().asMap());
            resolved.put("batchSize", plan.batchSize());
            resolved.put("tasks", plan.taskCount());
            resolved.put("sha256", plan.manifest().sha256());
            PLAN_WRITER.writeValue(dir.resolve(PLAN_FILE).toFile(), resolved);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a run directory in " + runsDir, e);
        }
        String id = dir.getFileName().toString();
        Journal journal = journals.create(dir, new JournalEntry.Accepted(now, id, plan.strategy().cliName(),
                plan.taskCount(), JournalEntry.FORMAT));
        Run run = register(new Run(id, dir, plan, journal, now));
        LOG.info("run {} accepted: {}", id, plan.describe());
        acceptListeners.forEach(listener -> listener.accept(run));
        return run;
    }

    /**
     * Called by the accept stage when a run's lane could not be opened or feeding it broke: cancels the run, so
     * that it ends with a report, and throws to tell the intake why.
     */
    public void abandonFeeding(Run run, Exception cause) {
        LOG.error("run {}: cannot feed its tasks to the lane, cancelling it", run.id(), cause);
        run.cancel();
        throw new IllegalStateException("run " + run.id() + " was cancelled: its tasks could not be fed to the "
                + run.strategyName() + " lane: " + cause.getMessage(), cause);
    }

    /** A run active in this process, or null (finished, or never here). */
    public Run find(String runId) {
        return active.get(runId);
    }

    /** A run of this process; the lanes look runs up by the DroverRunId header. */
    public Run get(String runId) {
        Run run = active.get(runId);
        if (run == null) {
            throw new IllegalStateException("no active run " + runId);
        }
        return run;
    }

    /** Called with each run as soon as it is durably accepted, before its first task starts. */
    public void onAccepted(Consumer<Run> listener) {
        acceptListeners.add(listener);
    }

    /**
     * Called with every task that reaches its final state in this process (not those replayed from a journal), in
     * the thread that ended it, outside the run's lock and before the run finishes: a listener must be quick and
     * hand anything slow to a thread of its own. With no listener, a task's end costs one empty-list check here.
     */
    public void onTaskEnded(Consumer<TaskEnd> listener) {
        taskEndListeners.add(listener);
    }

    void taskEnded(Run run, int index, TaskState state, int attempt, int exitCode, String reason, long startedAt,
                   long endedAt) {
        if (taskEndListeners.isEmpty()) {
            return;
        }
        TaskEnd end = new TaskEnd(run, index, state, attempt, exitCode, reason, startedAt, endedAt);
        for (Consumer<TaskEnd> listener : taskEndListeners) {
            try {
                listener.accept(end);
            } catch (RuntimeException e) {
                LOG.warn("run {}: a task-end listener failed: {}", run.id(), e.toString());
            }
        }
    }

    /** Blocks until the run has finished; the inbox route then files the manifest by the outcome. */
    public RunState awaitFinished(Run run) throws Exception {
        return run.finished().get();
    }

    public Collection<Run> active() {
        return active.values();
    }

    /** Cancels every active run and waits up to the timeout for their reports. */
    public void cancelAll(java.time.Duration timeout) {
        java.util.List<Run> runs = java.util.List.copyOf(active.values());
        runs.forEach(Run::cancel);
        try {
            java.util.concurrent.CompletableFuture.allOf(runs.stream().map(Run::finished)
                    .toArray(java.util.concurrent.CompletableFuture[]::new))
                    .get(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            LOG.warn("not every cancelled run finished within {}", timeout);
        }
    }
}
