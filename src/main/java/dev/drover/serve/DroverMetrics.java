package dev.drover.serve;

import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.RunState;
import dev.drover.run.TaskState;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.StartupListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collection;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * drover's own metrics on /observe/metrics, next to Camel's: runs and tasks by state.
 * <ul>
 *   <li>{@code drover_runs_active} (gauge) and {@code drover_runs_finished_total{state}} (counter)</li>
 *   <li>{@code drover_tasks{state="pending"|"running"}} (gauge, over active runs) and
 *       {@code drover_tasks_finished_total{state="succeeded"|"failed"|"cancelled"}} (counter, all runs since start)</li>
 * </ul>
 * Read from the runs' own counters when scraped: nothing is done per task.
 */
public final class DroverMetrics {

    private static final Logger LOG = LoggerFactory.getLogger(DroverMetrics.class);
    /** The name under which camel-micrometer-prometheus binds the registry it serves. */
    static final String REGISTRY = "metricsRegistry";

    private final RunRegistry runs;
    /** Runs seen and not yet finished: those accepted, and those found active at a scrape (e.g. recovered). */
    private final Set<Run> tracked = new HashSet<>();
    private final Map<TaskState, Long> finishedTasks = new EnumMap<>(TaskState.class);
    private final Map<RunState, Long> finishedRuns = new EnumMap<>(RunState.class);

    private DroverMetrics(RunRegistry runs) {
        this.runs = runs;
    }

    /**
     * Counts runs from now on, and adds the meters to the registry camel-micrometer-prometheus serves once the
     * context has started (it makes that registry after the configuration classes have run).
     */
    static DroverMetrics bind(CamelContext context, RunRegistry runs) {
        DroverMetrics metrics = new DroverMetrics(runs);
        runs.onAccepted(metrics::track);
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

    private void register(MeterRegistry meters) {
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
    }

    private static String name(Enum<?> state) {
        return state.name().toLowerCase(Locale.ROOT);
    }
}
