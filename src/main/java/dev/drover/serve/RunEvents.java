package dev.drover.serve;

import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.run.Run;
import dev.drover.run.RunReport;
import dev.drover.run.RunRegistry;
import dev.drover.run.RunState;
import dev.drover.run.TaskEnd;
import dev.drover.run.TaskState;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Publishes run events as JSON through the publish-event route (to {@code drover.events.destination}):
 * {@code run-accepted}, {@code task-finished} (one per task: id, index, state, exit code, attempts, duration,
 * reason), {@code run-progress} (counts, at most every {@code drover.events.progress-interval} seconds and only when
 * they changed) and {@code run-finished} (state, counts, report path).
 * <p>
 * task-finished makes one message per task, a million for a million-task run; {@code drover.events.task-finished
 * = false} turns it off, and progress events then carry the counts at a bounded rate (report.json has every task).
 * Tasks cancelled before they started have no task-finished event: cancelling a large run would otherwise flood
 * the backlog with events that would then be dropped; run-finished counts them.
 * <p>
 * Events are best effort: they are built and sent from one background thread, first in first out, never from the
 * thread that accepts a run or ends a task, so a slow or absent broker delays nothing. Sends are persistent and
 * synchronous (some hundreds to a thousand a second), and tasks of a local run can end faster than that, so the
 * backlog of unsent events is bounded for task-finished and run-progress only:
 * <ul>
 *   <li>run-accepted and run-finished are never dropped (consumers depend on them; there are two per run);</li>
 *   <li>a task-finished or run-progress event is admitted only while fewer than {@value #BACKLOG} of those are
 *       waiting to be sent; when the backlog is full the new event is dropped, never one already waiting, and
 *       counted ({@code drover_events_dropped_total} with metrics). The first drop of each burst (dropping starts,
 *       or starts again after an event was admitted) is logged with the count so far.</li>
 * </ul>
 * The single sender keeps the order within a run: run-accepted comes before its task events, and run-finished after
 * every task event admitted before it (the run directory stays the full record). A run's last task-finished events
 * may follow its run-finished only if their threads were held up between ending the task and telling RunRegistry.
 */
public final class RunEvents {

    private static final Logger LOG = LoggerFactory.getLogger(RunEvents.class);
    public static final String ENDPOINT = "direct:publish-event";
    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** task-finished and run-progress events that may wait to be sent; run-level events are not counted. */
    static final int BACKLOG = 10_000;

    private final CamelContext context;
    private final long progressSeconds;
    private final boolean taskEvents;
    private final int backlog;
    /** One thread, an unbounded FIFO queue: what is admitted is bounded by {@link #waiting}, not by the queue. */
    private final ExecutorService sender;
    /** Droppable events enqueued and not yet taken by the sender. */
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicLong dropped = new AtomicLong();
    /** True from a logged drop until the next droppable event is admitted: one warning per burst. */
    private final AtomicBoolean dropping = new AtomicBoolean();
    private final AtomicLong bursts = new AtomicLong();
    private final Map<Run, Integer> lastDone = new ConcurrentHashMap<>();
    /** Runs whose run-finished went out: exactly once each, whichever watch saw the end. */
    private final java.util.Set<String> announced = ConcurrentHashMap.newKeySet();
    private volatile ProducerTemplate producer;

    RunEvents(CamelContext context, long progressSeconds, boolean taskEvents) {
        this(context, progressSeconds, taskEvents, BACKLOG);
    }

    /** @param backlog droppable events that may wait to be sent ({@link #BACKLOG}; smaller in tests) */
    RunEvents(CamelContext context, long progressSeconds, boolean taskEvents, int backlog) {
        this.context = context;
        this.progressSeconds = progressSeconds;
        this.taskEvents = taskEvents;
        this.backlog = backlog;
        // a daemon thread never shut down: nothing is rejected (DiscardPolicy only in case it ever is)
        this.sender = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                r -> {
                    Thread t = new Thread(r, "drover-events");
                    t.setDaemon(true);
                    return t;
                }, new ThreadPoolExecutor.DiscardPolicy());
    }

    /** task-finished and run-progress events dropped because the backlog was full, since start. */
    long dropped() {
        return dropped.get();
    }

    /** Bursts of drops, i.e. warnings logged. */
    long dropBursts() {
        return bursts.get();
    }

    /** A run-level event: always enqueued. */
    private void enqueue(Runnable send) {
        sender.execute(send);
    }

    /**
     * A task-finished or run-progress event: enqueued only while fewer than the backlog are waiting.
     *
     * @return false if it was dropped
     */
    private boolean enqueueDroppable(Runnable send) {
        if (waiting.incrementAndGet() > backlog) {
            waiting.decrementAndGet();
            long count = dropped.incrementAndGet();
            if (dropping.compareAndSet(false, true)) {
                bursts.incrementAndGet();
                LOG.warn("events are produced faster than {} takes them: {} task-finished/run-progress events wait"
                        + " to be sent, new ones are dropped ({} so far; run-accepted and run-finished are"
                        + " kept); set drover.events.task-finished=false for very large runs", ENDPOINT, backlog, count);
            }
            return false;
        }
        if (dropping.get()) {
            dropping.set(false); // admitted: the next drop starts a new burst
        }
        sender.execute(() -> {
            waiting.decrementAndGet();
            send.run();
        });
        return true;
    }

    void attach(RunRegistry runs) {
        runs.onAccepted(run -> {
            publish(run, "run-accepted", accepted(run));
            watch(run);
        });
        if (taskEvents) {
            runs.onTaskEnded(this::taskEnded);
        }
        if (progressSeconds > 0) {
            ScheduledExecutorService ticker = context.getExecutorServiceManager()
                    .newSingleThreadScheduledExecutor(this, "drover-events-progress");
            ticker.scheduleWithFixedDelay(() -> progress(runs), progressSeconds, progressSeconds, TimeUnit.SECONDS);
        }
    }

    /** Publishes run-finished when the run ends; once per run. */
    private void watch(Run run) {
        if (run.finished().isDone() || lastDone.putIfAbsent(run, -1) != null) {
            return; // a run that ended between a progress tick's check and now was announced already
        }
        // the future, not Run.onFinish: its handlers run before the final state is set
        run.finished().thenAccept(state -> {
            lastDone.remove(run);
            if (announced.add(run.id())) {
                publish(run, "run-finished", finished(run, state));
            }
        });
    }

    private void progress(RunRegistry runs) {
        // runs a restart recovered were never "accepted" by this process: they are found here
        runs.active().stream().filter(run -> !run.finished().isDone()).forEach(this::watch);
        lastDone.forEach((run, before) -> {
            int done = run.done();
            if (done != before && !run.finished().isDone()) {
                Map<String, Object> event = base(run, "run-progress");
                event.put("done", done);
                event.put("counts", counts(run));
                if (enqueueDroppable(() -> send("run-progress", run.id(), event))) {
                    lastDone.replace(run, before, done); // not when dropped: the next tick tries again
                }
            }
        });
    }

    private void taskEnded(TaskEnd end) {
        if (end.state() == TaskState.CANCELLED && !end.started()) {
            return;
        }
        // only the enqueueing happens in the task's thread; the event is built in the sender's
        enqueueDroppable(() -> send("task-finished", end.run().id(), taskFinished(end)));
    }

    private static Map<String, Object> taskFinished(TaskEnd end) {
        Map<String, Object> event = base(end.run(), "task-finished");
        event.put("task", end.run().plan().manifest().tasks().task(end.index()).id());
        event.put("index", end.index());
        event.put("state", end.state().name());
        event.put("exitCode", end.hasExitCode() ? end.exitCode() : null);
        event.put("attempt", end.attempt());
        event.put("durationSeconds", end.started() ? end.durationSeconds() : null);
        if (end.reason() != null) {
            event.put("reason", end.reason());
        }
        return event;
    }

    private Map<String, Object> accepted(Run run) {
        Map<String, Object> event = base(run, "run-accepted");
        event.put("name", run.plan().manifest().name());
        event.put("strategy", run.strategyName());
        event.put("runDir", run.dir().toString());
        return event;
    }

    private Map<String, Object> finished(Run run, RunState state) {
        Map<String, Object> event = base(run, "run-finished");
        event.put("state", state.name());
        event.put("counts", counts(run));
        event.put("report", run.dir().resolve(RunReport.FILE).toString());
        return event;
    }

    private static Map<String, Object> base(Run run, String type) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("event", type);
        event.put("runId", run.id());
        event.put("time", Instant.now().toString());
        event.put("tasks", run.taskCount());
        return event;
    }

    static Map<String, Integer> counts(Run run) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (TaskState state : TaskState.values()) {
            counts.put(state.name().toLowerCase(Locale.ROOT), run.count(state));
        }
        return counts;
    }

    /** Enqueues a run-level event (run-accepted, run-finished): never dropped. */
    private void publish(Run run, String type, Map<String, Object> event) {
        enqueue(() -> send(type, run.id(), event));
    }

    private void send(String type, String runId, Map<String, Object> event) {
        String json;
        try {
            json = JSON.writeValueAsString(event);
        } catch (Exception e) {
            LOG.warn("cannot write event {} of run {}", type, runId, e);
            return;
        }
        try {
            if (producer == null) {
                producer = context.createProducerTemplate();
            }
            // header names without dots: JMS mangles them for other clients (DroverEvent works in selectors)
            producer.sendBodyAndHeaders(ENDPOINT, json, Map.of("DroverEvent", type, "DroverRunId", runId));
        } catch (RuntimeException e) {
            Throwable cause = e;
            while (cause.getCause() != null) {
                cause = cause.getCause();
            }
            LOG.warn("cannot publish {} of run {}: {}", type, runId, cause.getMessage());
        }
    }
}
