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

/**
 * Publishes run events as JSON through the publish-event route (to {@code drover.events.destination}):
 * {@code run-accepted}, {@code task-finished} (one per task: id, index, state, exit code, attempts, duration,
 * reason), {@code run-progress} (counts, at most every {@code drover.events.progress-interval} seconds and only when
 * they changed) and {@code run-finished} (state, counts, report path).
 * <p>
 * task-finished makes one message per task, a million for a million-task run; {@code drover.events.task-finished
 * = false} turns it off, and progress events then carry the counts at a bounded rate (report.json has every task).
 * Tasks cancelled before they started have no task-finished event: cancelling a large run would otherwise flood
 * the backlog and push out other runs' events; run-finished counts them.
 * <p>
 * Events are best effort: they are built and sent from one background thread in order, never from the thread that
 * accepts a run or ends a task, so a slow or absent broker delays nothing; if the broker is unreachable for long or
 * tasks end faster than the broker takes events, the oldest unsent events are dropped (the run directory stays the
 * record). A run's last task-finished events may follow its run-finished only if their threads were held up between
 * ending the task and telling RunRegistry.
 */
public final class RunEvents {

    private static final Logger LOG = LoggerFactory.getLogger(RunEvents.class);
    public static final String ENDPOINT = "direct:publish-event";
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int BACKLOG = 10_000;

    private final CamelContext context;
    private final long progressSeconds;
    private final boolean taskEvents;
    private final ExecutorService sender;
    private final java.util.concurrent.atomic.AtomicLong dropped = new java.util.concurrent.atomic.AtomicLong();
    private final Map<Run, Integer> lastDone = new ConcurrentHashMap<>();
    private volatile ProducerTemplate producer;

    RunEvents(CamelContext context, long progressSeconds, boolean taskEvents) {
        this.context = context;
        this.progressSeconds = progressSeconds;
        this.taskEvents = taskEvents;
        this.sender = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(BACKLOG),
                r -> {
                    Thread t = new Thread(r, "drover-events");
                    t.setDaemon(true);
                    return t;
                }, this::dropOldest);
    }

    /** The backlog is full: the oldest unsent event makes room, and the first of every burst of drops is logged. */
    private void dropOldest(Runnable event, ThreadPoolExecutor pool) {
        if (pool.isShutdown()) {
            return;
        }
        pool.getQueue().poll();
        if (dropped.getAndIncrement() % BACKLOG == 0) {
            LOG.warn("events are produced faster than {} takes them: dropping the oldest unsent ({} so far); set"
                    + " drover.events.task-finished=false for very large runs", ENDPOINT, dropped.get());
        }
        pool.execute(event);
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
        if (lastDone.putIfAbsent(run, -1) == null) {
            // the future, not Run.onFinish: its handlers run before the final state is set
            run.finished().thenAccept(state -> {
                lastDone.remove(run);
                publish(run, "run-finished", finished(run, state));
            });
        }
    }

    private void progress(RunRegistry runs) {
        // runs a restart recovered were never "accepted" by this process: they are found here
        runs.active().stream().filter(run -> !run.finished().isDone()).forEach(this::watch);
        lastDone.forEach((run, before) -> {
            int done = run.done();
            if (done != before && !run.finished().isDone()) {
                lastDone.replace(run, before, done);
                Map<String, Object> event = base(run, "run-progress");
                event.put("done", done);
                event.put("counts", counts(run));
                publish(run, "run-progress", event);
            }
        });
    }

    private void taskEnded(TaskEnd end) {
        if (end.state() == TaskState.CANCELLED && !end.started()) {
            return;
        }
        // only the enqueueing happens in the task's thread; the event is built in the sender's
        sender.execute(() -> send("task-finished", end.run().id(), taskFinished(end)));
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

    private void publish(Run run, String type, Map<String, Object> event) {
        sender.execute(() -> send(type, run.id(), event));
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
