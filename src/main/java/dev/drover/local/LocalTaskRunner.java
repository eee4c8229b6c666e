package dev.drover.local;

import dev.drover.manifest.TaskSpec;
import dev.drover.plan.Strategy;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.TaskBatch;
import dev.drover.run.TaskState;
import dev.drover.run.TimedOut;
import org.apache.camel.Exchange;
import org.apache.camel.Producer;
import org.apache.camel.component.seda.SedaEndpoint;
import org.apache.camel.support.service.ServiceHelper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Runs tasks as local processes, one after another in the calling thread: the sequential lane calls it from the
 * splitter's thread, the multiprocessing lane from each of its --jobs SEDA consumers. Each task is a real process
 * (argv without a shell) in a session of its own ({@link TaskSessions}), with its output in a slot file of the
 * run's logs folder that becomes the task's log only if it printed something ({@link TaskLogs}),
 * a time limit, and retries. A task that is stopped (cancel, time-out, a stopping daemon) loses its whole session:
 * SIGTERM, then SIGKILL after the grace period, until none of its processes is left.
 */
public final class LocalTaskRunner {

    private static final Logger LOG = LoggerFactory.getLogger(LocalTaskRunner.class);
    /** What a task that could not start reports, like a shell does for a missing program. */
    static final int CANNOT_START = 127;
    /** A batch that has run this long has outgrown the estimate it was cut by. */
    static final Duration GIVE_BACK_AFTER = Duration.ofMillis(5L * Run.LOCAL_BATCH_MILLIS);
    /** What a shell reports for a process killed by SIGKILL. */
    static final int KILLED = 137;

    /** The exit value Java gives a process killed by SIGINT (128 + 2). */
    private static final int DIED_OF_SIGINT = 130;

    private final RunRegistry runs;
    private final Map<Run, Set<TaskProcess>> live = new ConcurrentHashMap<>();
    private final Map<Run, TaskLogs> logs = new ConcurrentHashMap<>();
    /** Set when drover stops without cancelling: no task starts any more. */
    private volatile boolean stopping;
    /** Processes stopAll killed: their tasks record nothing and run again at the next start. */
    private final Set<TaskProcess> abandoned = ConcurrentHashMap.newKeySet();

    /** How long a task that is being stopped gets between SIGTERM and SIGKILL. */
    private final Duration killGrace;
    private final Launchers launchers;

    /** @param launcher drover.local.launcher: {@code auto}, {@code none} or drover-launch's path ({@link Launchers}) */
    public LocalTaskRunner(RunRegistry runs, Duration killGrace, String launcher) {
        this.runs = runs;
        this.killGrace = killGrace;
        this.launchers = new Launchers(launcher, killGrace);
        runs.onRecovered(this::endLeftovers);
    }

    /** Whether local tasks' CPU and memory usage is measured (drover-launch was found). */
    public boolean measuresUsage() {
        return launchers.available();
    }

    public void runBatch(TaskBatch batch, Exchange exchange) {
        Run run = runs.find(batch.runId());
        if (run == null) {
            return; // the run has finished (cancelled) while this batch waited in the lane's queue
        }
        List<TaskSpec> tasks = batch.tasks();
        long giveBackAt = System.nanoTime() + GIVE_BACK_AFTER.toNanos();
        boolean mayGiveBack = tasks.size() > 1;
        for (int next = 0; next < tasks.size(); next++) {
            if (mayGiveBack && next > 0 && System.nanoTime() - giveBackAt > 0) {
                mayGiveBack = false; // once: what does not fit runs here
                next += giveBack(run, tasks.subList(next, tasks.size()), exchange);
                if (next == tasks.size()) {
                    return;
                }
            }
            TaskSpec task = tasks.get(next);
            try {
                runTask(run, task);
            } catch (RuntimeException e) {
                // Whatever went wrong, the task ends with a result: a task left RUNNING would hold its run forever.
                LOG.warn("run {}: task {} could not run: {}", run.id(), task.id(), e.toString());
                run.taskFinished(task.index(), Math.max(1, run.attempts(task.index())), TaskState.FAILED,
                        CANNOT_START, "drover could not run the task: "
                                + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()));
            }
        }
    }

    /**
     * Hands tasks back to the multiprocessing lane they came from, each as a batch of its own, as far as its queue
     * has room (a full queue has work for every slot already); returns how many it took. A batch is cut by how long
     * the run's tasks took so far ({@link Run#pendingBatches}); when its tasks turn out to take longer, idle slots
     * take the rest instead of waiting for this one, which holds a slot's worth of work at most one task too long.
     * Not for the sequential lane: one slot, in order.
     */
    private static int giveBack(Run run, List<TaskSpec> rest, Exchange exchange) {
        // A multiprocessing lane's consumer stamps its own endpoint on the exchange; a sequential batch still has
        // feed-run's, where tasks must not go.
        if (run.plan().strategy() != Strategy.MULTIPROCESSING
                || !(exchange.getFromEndpoint() instanceof SedaEndpoint lane)
                || !lane.getEndpointUri().startsWith("seda://" + LocalLanes.TEMPLATE)) {
            return 0;
        }
        int given = 0;
        try {
            Producer producer = lane.createProducer();
            ServiceHelper.startService(producer);
            try {
                for (TaskSpec task : rest) {
                    Exchange back = lane.createExchange();
                    back.getIn().setBody(new TaskBatch(run.id(), List.of(task)));
                    producer.process(back);
                    if (back.getException() != null) {
                        break; // the queue is full
                    }
                    given++;
                }
            } finally {
                ServiceHelper.stopService(producer);
            }
        } catch (Exception full) {
            // the queue is full (or the lane is going): the rest runs here
        }
        return given;
    }

    void runTask(Run run, TaskSpec task) {
        // An attempt a crash interrupted stays counted but does not use up a retry; failed ones do, across restarts.
        int firstAttempt = run.attempts(task.index()) + 1;
        int maxAttempts = firstAttempt + Math.max(0, run.plan().manifest().retries() - run.retriesUsed(task.index()));
        Duration timeout = run.plan().manifest().timeout();
        int lastExitCode = Integer.MIN_VALUE;
        for (int attempt = firstAttempt; attempt <= maxAttempts; attempt++) {
            if (stopping) {
                return; // the journal shows it started (or is pending) and never ended: the next start runs it
            }
            if (!run.taskStarted(task.index(), attempt)) {
                // cancelled before this attempt (a retry never starts after a cancel): the task ends CANCELLED
                run.taskFinished(task.index(), attempt - 1, TaskState.CANCELLED, lastExitCode, "run cancelled");
                return;
            }
            TaskLogs.Slot slot = logsOf(run).acquire(task);
            Outcome outcome;
            try {
                outcome = attempt(run, task, timeout, slot.log(), attempt);
                if (!outcome.abandoned() && !run.isCancelled() && !outcome.succeeded() && attempt < maxAttempts) {
                    appendToLog(slot.log(), "--- drover: attempt " + attempt + " failed (" + outcome.describe()
                            + "), retrying ---\n");
                }
            } finally {
                slot.release(task); // its output is in the task's log before its end is recorded
            }
            if (outcome.abandoned()) {
                return; // killed by stopAll: the journal shows it started and never ended, so it runs again
            }
            if (outcome.exitCode == DIED_OF_SIGINT) {
                awaitCancel(run);
            }
            if (run.isCancelled()) {
                run.taskFinished(task.index(), attempt, TaskState.CANCELLED, outcome.exitCode, "run cancelled");
                return;
            }
            if (outcome.succeeded()) {
                run.taskFinished(task.index(), attempt, TaskState.SUCCEEDED, 0, null);
                return;
            }
            if (attempt == maxAttempts) {
                run.taskFinished(task.index(), attempt, TaskState.FAILED, outcome.exitCode, outcome.reason);
                return;
            }
            lastExitCode = outcome.exitCode;
            run.attemptFailed(task.index(), attempt, outcome.exitCode, outcome.reason);
        }
    }

    /**
     * A task that died of SIGINT most likely caught a terminal's Ctrl-C in the moment between its fork and the
     * {@code setsid} that gives it its own session; drover got the same Ctrl-C and is cancelling the run. Waiting
     * for that decision (briefly: SIGINT may come from elsewhere) keeps the attempt from counting as the task's own
     * failure.
     */
    private static void awaitCancel(Run run) {
        CountDownLatch cancelled = new CountDownLatch(1);
        run.onCancel(cancelled::countDown);
        try {
            if (!run.isCancelled()) {
                cancelled.await(1, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The run's slot logs, made at its first task here (which gives a crashed drover's leftovers to their tasks). */
    private TaskLogs logsOf(Run run) {
        TaskLogs known = logs.get(run);
        if (known != null) {
            return known;
        }
        synchronized (logs) {
            known = logs.get(run);
            if (known == null) {
                TaskLogs made = new TaskLogs(run);
                logs.put(run, made);
                run.onFinish(() -> {
                    logs.remove(run);
                    made.close();
                });
                known = made;
            }
            return known;
        }
    }

    /**
     * @param reason    why drover ended the attempt (time-out, interruption), null when the task exited by itself
     * @param abandoned killed by a stopping daemon: no result is recorded, the next start runs it again
     */
    private record Outcome(int exitCode, String reason, boolean abandoned) {
        Outcome(int exitCode, String reason) {
            this(exitCode, reason, false);
        }

        boolean succeeded() {
            return exitCode == 0 && reason == null;
        }

        String describe() {
            return reason != null ? reason : "exit code " + exitCode;
        }
    }

    private Outcome attempt(Run run, TaskSpec task, Duration timeout, File log, int attempt) {
        File workdir = task.workdir() != null ? new File(task.workdir()) : null;
        Map<String, String> env = new LinkedHashMap<>(task.env());
        env.put("DROVER_RUN_ID", run.id());
        env.put("DROVER_TASK_ID", task.id());
        env.put("DROVER_TASK_INDEX", Integer.toString(task.index()));
        env.put("DROVER_ATTEMPT", Integer.toString(attempt));
        TaskProcess process;
        try {
            process = start(task.command(), workdir, log, timeout, env);
        } catch (IOException e) {
            String reason = "cannot start " + task.command().get(0)
                    + (task.workdir() != null ? " in " + task.workdir() : "") + ": " + e.getMessage();
            appendToLog(log, "drover: " + reason + "\n");
            return new Outcome(CANNOT_START, reason);
        }
        // Who it is, so that a drover restarted after a crash can end this attempt before running the task again.
        run.taskProcess(task.index(), attempt, process.pid(), process.startTicks(), TaskSessions.BOOT_ID);
        Set<TaskProcess> processes = live.computeIfAbsent(run, r -> {
            Set<TaskProcess> set = ConcurrentHashMap.newKeySet();
            r.onCancel(() -> kill(set));
            r.onFinish(() -> live.remove(r));
            return set;
        });
        processes.add(process);
        try {
            if (run.isCancelled()) {
                kill(List.of(process));
            }
            Outcome outcome;
            if (process.await()) {
                outcome = new Outcome(process.exitCode(), null);
            } else {
                String reason = TimedOut.reason(timeout);
                appendToLog(log, "drover: " + reason + ", stopping it\n");
                kill(List.of(process));
                process.await();
                outcome = new Outcome(TimedOut.EXIT_CODE, reason);
            }
            if (abandoned.remove(process)) {
                return new Outcome(KILLED, "stopped", true);
            }
            if (process.usage() != null) {
                run.taskUsage(task.index(), attempt, process.usage());
            }
            return outcome;
        } catch (InterruptedException e) {
            kill(List.of(process));
            Thread.currentThread().interrupt();
            return new Outcome(KILLED, "interrupted", abandoned.remove(process));
        } finally {
            processes.remove(process);
        }
    }

    /**
     * Starts a task in a session of its own: through drover-launch, which measures it, or else through setsid from
     * the JVM. The program is resolved here, as the JDK would, so that a missing one is reported as "cannot start".
     */
    private TaskProcess start(List<String> command, File workdir, File log, Duration timeout,
                              Map<String, String> env) throws IOException {
        if (launchers.available()) {
            List<String> argv = new ArrayList<>(command);
            argv.set(0, new File(TaskSessions.resolve(command.get(0), workdir)).getAbsolutePath());
            return launchers.start(argv, workdir, log, timeout, env);
        }
        ProcessBuilder builder = new ProcessBuilder(TaskSessions.argv(command, workdir)).directory(workdir);
        builder.environment().putAll(env);
        builder.redirectErrorStream(true);
        builder.redirectOutput(ProcessBuilder.Redirect.appendTo(log));
        Process process = builder.start();
        closeQuietly(process.getOutputStream());
        return new TaskProcess.Jvm(process, timeout);
    }

    /**
     * For a stopping daemon: starts no more tasks, gives the running ones up to the timeout to end, then kills the
     * rest without recording a result, so that the next start runs them again.
     */
    public void stopAll(Duration timeout) throws InterruptedException {
        stopping = true;
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline && live.values().stream().anyMatch(set -> !set.isEmpty())) {
            Thread.sleep(100);
        }
        List<TaskProcess> left = new ArrayList<>();
        live.values().forEach(left::addAll);
        abandoned.addAll(left);
        kill(left);
        launchers.close();
    }

    /** For drover's end: the idle drover-launch processes end (no task runs any more). */
    public void close() {
        launchers.close();
    }

    /** Ends the tasks' whole sessions at once (SIGTERM, the grace period, SIGKILL) and returns when they are empty. */
    private void kill(Collection<TaskProcess> tasks) {
        if (!TaskSessions.SUPPORTED) {
            // no sessions to kill: the process trees as they are now, descendants first
            tasks.forEach(task -> ProcessHandle.of(task.pid()).ifPresent(handle -> {
                handle.descendants().forEach(ProcessHandle::destroyForcibly);
                handle.destroyForcibly();
            }));
            return;
        }
        Set<Long> sessions = new HashSet<>();
        tasks.forEach(task -> sessions.add(task.pid()));
        if (!sessions.isEmpty()) {
            TaskSessions.kill(proc -> sessions.contains(proc.session()), killGrace);
        }
    }

    /**
     * Before a recovered local run goes on: ends whatever its interrupted attempts left running — the sessions of
     * the processes its journal names (a pid counts only with its recorded start time and boot) and any process
     * whose environment names the run (an attempt a crash cut off before its process was journalled) — and waits
     * until they are gone, so that no task has two live executions.
     */
    private void endLeftovers(Run run) {
        if (run.plan().strategy().isCluster() || !TaskSessions.SUPPORTED) {
            return;
        }
        Set<Long> sessions = new HashSet<>();
        for (Run.TaskProcess leftover : run.interruptedProcesses()) {
            if (leftover.bootId().equals(TaskSessions.BOOT_ID)) {
                long start = TaskSessions.startTicks(leftover.pid());
                // the pid alive with another start time was reused: the session it led has ended; not alive: the
                // session may live on without its leader (Linux does not reuse the pid while it does)
                if (start == leftover.startTicks() || start == -1) {
                    sessions.add(leftover.pid());
                }
            }
        }
        Predicate<TaskSessions.Proc> ours = proc -> sessions.contains(proc.session())
                || TaskSessions.hasEnv(proc, "DROVER_RUN_ID", run.id());
        List<TaskSessions.Proc> found = TaskSessions.find(ours);
        if (!found.isEmpty()) {
            LOG.warn("run {}: ending {} processes its interrupted tasks left running", run.id(), found.size());
            found.forEach(proc -> sessions.add(proc.handle().pid())); // a leftover's own session goes with it
            if (!TaskSessions.kill(ours, killGrace)) {
                // Run again beside what is left of them, the interrupted tasks would run twice: they fail instead.
                LOG.error("run {}: processes its interrupted tasks left outlived SIGKILL; those tasks fail", run.id());
                for (int index = 0; index < run.taskCount(); index++) {
                    if (run.attempts(index) > 0 && !run.taskState(index).isTerminal()) {
                        run.taskFinished(index, run.attempts(index), TaskState.FAILED, Integer.MIN_VALUE, "drover"
                                + " restarted and could not end what this task's interrupted attempt left running"
                                + " (it outlived SIGKILL), so it is not run again");
                    }
                }
            }
        }
    }

    private static void appendToLog(File log, String line) {
        try {
            Files.writeString(log.toPath(), line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            LOG.warn("cannot write to {}: {}", log, e.getMessage());
        }
    }

    private static void closeQuietly(OutputStream stream) {
        try {
            stream.close();
        } catch (IOException ignored) {
            // the task does not read stdin
        }
    }
}
