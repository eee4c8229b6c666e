package dev.drover.serve;

import dev.drover.plan.Strategy;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.RunState;
import dev.drover.run.TaskEnd;
import dev.drover.run.TaskState;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.camel.CamelContext;
import org.apache.camel.StartupListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.stream.Stream;

/**
 * drover's own metrics on /observe/metrics, next to Camel's: runs and tasks by state, task durations, and what
 * waits at the intakes.
 * <ul>
 *   <li>{@code drover_runs_active} (gauge) and {@code drover_runs_finished_total{state}} (counter)</li>
 *   <li>{@code drover_tasks{state="pending"|"running"}} (gauge, over active runs) and
 *       {@code drover_tasks_finished_total{state="succeeded"|"failed"|"cancelled"}} (counter, all runs since start)</li>
 *   <li>{@code drover_task_duration_seconds{strategy,state}} (histogram, 0.1 s to 12 h): each task that started,
 *       from its first start to its end (retries included)</li>
 *   <li>{@code drover_queue_depth{queue}} (gauge, with a queue intake): messages in the manifests queue, NaN when the
 *       broker does not answer (see QueueDepth)</li>
 *   <li>{@code drover_inbox_waiting} (gauge, with a drop folder): manifests in the folder not yet being run</li>
 *   <li>{@code drover_events_dropped_total} (counter, with run events): task-finished and run-progress events
 *       dropped because the events backlog was full (see RunEvents)</li>
 *   <li>{@code drover_events_owed} (gauge, with run events): events in the outbox not yet accepted by the broker
 *       (grows during an outage)</li>
 * </ul>
 * Counts are read from the runs' own counters when scraped; the only work per task is one histogram update.
 */
public final class DroverMetrics {

    private static final Logger LOG = LoggerFactory.getLogger(DroverMetrics.class);
    /** The name under which camel-micrometer-prometheus binds the registry it serves. */
    static final String REGISTRY = "metricsRegistry";

    /** Task duration buckets: sub-second tasks to ones that run for hours. */
    private static final Duration[] DURATION_BUCKETS = Stream.of(0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0,
            1800.0, 3600.0, 7200.0, 14400.0, 43200.0).map(s -> Duration.ofMillis((long) (s * 1000)))
            .toArray(Duration[]::new);

    private final RunRegistry runs;
    private final QueueDepth queueDepth;
    private final RunEvents events;
    /** Set once the Micrometer registry exists (after the context has started); tasks ending before are not timed. */
    private volatile MeterRegistry meters;
    /** The duration timer of each strategy and final state, made on first use: unused series are not exported. */
    private final AtomicReferenceArray<Timer> durations =
            new AtomicReferenceArray<>(Strategy.values().length * TaskState.values().length);
    private InboxWaiting inbox;
    /** Runs seen and not yet finished: those accepted, and those found active at a scrape (e.g. recovered). */
    private final Set<Run> tracked = new HashSet<>();
    private final Map<TaskState, Long> finishedTasks = new EnumMap<>(TaskState.class);
    private final Map<RunState, Long> finishedRuns = new EnumMap<>(RunState.class);

    private DroverMetrics(RunRegistry runs, QueueDepth queueDepth, RunEvents events) {
        this.runs = runs;
        this.queueDepth = queueDepth;
        this.events = events;
    }

    /**
     * Counts runs from now on, and adds the meters to the registry camel-micrometer-prometheus serves once the
     * context has started (it makes that registry after the configuration classes have run).
     *
     * @param queueDepth the manifests queue's depth; null without a queue intake
     * @param events the run events publisher; null without run events
     */
    static DroverMetrics bind(CamelContext context, RunRegistry runs, QueueDepth queueDepth, RunEvents events) {
        DroverMetrics metrics = new DroverMetrics(runs, queueDepth, events);
        runs.onAccepted(metrics::track);
        runs.onTaskEnded(metrics::timeTask);
        try {
            context.addStartupListener(listener(metrics));
        } catch (Exception e) {
            throw new org.apache.camel.RuntimeCamelException(e);
        }
        return metrics;
    }

    private static StartupListener listener(DroverMetrics metrics) {
        return new StartupListener() {
            @Override
            public void onCamelContextStarted(CamelContext started, boolean alreadyStarted) {
            }

            @Override
            public void onCamelContextFullyStarted(CamelContext started, boolean alreadyStarted) {
                MeterRegistry meters = started.getRegistry().lookupByNameAndType(REGISTRY, MeterRegistry.class);
                if (meters == null) {
                    meters = started.getRegistry().findSingleByType(MeterRegistry.class);
                }
                if (meters == null) {
                    LOG.warn("no Micrometer registry: drover's metrics are not served (is camel.metrics.enabled set?)");
                } else {
                    metrics.register(meters);
                }
            }
        };
    }

    /** Adds drover_inbox_waiting for the drop folder the intake-file route has started watching. */
    synchronized void watchInbox(InboxWaiting waiting) {
        inbox = waiting;
        if (meters != null) {
            registerInbox(meters);
        }
    }

    private void timeTask(TaskEnd end) {
        MeterRegistry registry = meters;
        if (registry == null || !end.started()) {
            return; // a task that never started (cancelled while pending, refused by its cluster) has no duration
        }
        int slot = end.run().plan().strategy().ordinal() * TaskState.values().length + end.state().ordinal();
        Timer timer = durations.get(slot);
        if (timer == null) {
            // two threads may both get here: Micrometer gives both the same timer
            timer = Timer.builder("drover.task.duration")
                    .tag("strategy", end.run().strategyName()).tag("state", name(end.state()))
                    .description("Time from a task's first start to its end")
                    .serviceLevelObjectives(DURATION_BUCKETS)
                    .register(registry);
            durations.set(slot, timer);
        }
        timer.record(end.endedAtMillis() - end.startedAtMillis(), TimeUnit.MILLISECONDS);
    }

    private synchronized void track(Run run) {
        if (tracked.add(run)) {
            // the future, not Run.onFinish: its handlers run before the final state is set
            run.finished().thenAccept(state -> finished(run, state));
        }
    }

    private synchronized void finished(Run run, RunState outcome) {
        if (tracked.remove(run)) {
            for (TaskState state : TaskState.values()) {
                if (state.isTerminal()) {
                    finishedTasks.merge(state, (long) run.count(state), Long::sum);
                }
            }
            finishedRuns.merge(outcome, 1L, Long::sum);
        }
    }

    /** The registry's active runs, tracked from now on (runs recovered at start are never "accepted"). */
    private synchronized Collection<Run> active() {
        Collection<Run> active = runs.active();
        for (Run run : active) {
            if (!run.finished().isDone()) {
                track(run);
            }
        }
        return active;
    }

    private synchronized double activeRuns() {
        return active().size();
    }

    private synchronized double tasks(TaskState state) {
        if (!state.isTerminal()) {
            return active().stream().mapToLong(run -> run.count(state)).sum();
        }
        active();
        long sum = finishedTasks.getOrDefault(state, 0L);
        for (Run run : tracked) {
            sum += run.count(state);
        }
        return sum;
    }

    private synchronized double runs(RunState state) {
        active();
        return finishedRuns.getOrDefault(state, 0L);
    }

    private synchronized void register(MeterRegistry meters) {
        Gauge.builder("drover.runs.active", this, DroverMetrics::activeRuns)
                .description("Runs accepted by this drover and not finished").register(meters);
        for (RunState state : RunState.values()) {
            if (state != RunState.RUNNING) {
                FunctionCounter.builder("drover.runs.finished", this, m -> m.runs(state))
                        .tag("state", name(state)).description("Runs finished since drover started, by outcome")
                        .register(meters);
            }
        }
        for (TaskState state : TaskState.values()) {
            if (state.isTerminal()) {
                FunctionCounter.builder("drover.tasks.finished", this, m -> m.tasks(state))
                        .tag("state", name(state)).description("Tasks finished since drover started, by outcome")
                        .register(meters);
            } else {
                Gauge.builder("drover.tasks", this, m -> m.tasks(state)).tag("state", name(state))
                        .description("Tasks of active runs waiting or running").register(meters);
            }
        }
        if (queueDepth != null) {
            // bound to QueueDepth, not to this: waiting for the broker must not hold DroverMetrics' lock
            Gauge.builder("drover.queue.depth", queueDepth, QueueDepth::depth).tag("queue", queueDepth.queue())
                    .description("Messages in the manifests queue not yet acknowledged; NaN when the broker does"
                            + " not answer").register(meters);
        }
        if (events != null) {
            FunctionCounter.builder("drover.events.dropped", events, RunEvents::dropped)
                    .description("task-finished and run-progress events dropped because the events backlog was full")
                    .register(meters);
            Gauge.builder("drover.events.owed", events, RunEvents::owed)
                    .description("Run events in the outbox not yet accepted by the broker").register(meters);
        }
        if (inbox != null) {
            registerInbox(meters);
        }
        this.meters = meters;
    }

    private void registerInbox(MeterRegistry meters) {
        Gauge.builder("drover.inbox.waiting", inbox, InboxWaiting::count)
                .description("Manifest files in the drop folder whose runs have not started").register(meters);
    }

    private static String name(Enum<?> state) {
        return state.name().toLowerCase(Locale.ROOT);
    }
}
