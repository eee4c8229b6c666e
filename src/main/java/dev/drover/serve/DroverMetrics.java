package dev.drover.serve;

import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.RunState;
import dev.drover.run.TaskState;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.spi.Registry;

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

    /** The name camel-micrometer-prometheus looks up; binding ours first makes it serve our meters too. */
    static final String REGISTRY = "metricsRegistry";

    private final Set<Run> active = new HashSet<>();
    private final Map<TaskState, Long> finishedTasks = new EnumMap<>(TaskState.class);
    private final Map<RunState, Long> finishedRuns = new EnumMap<>(RunState.class);

    private DroverMetrics() {
    }

    static DroverMetrics bind(Registry registry, RunRegistry runs) {
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.bind(REGISTRY, meters);
        DroverMetrics metrics = new DroverMetrics();
        metrics.register(meters);
        runs.onAccepted(metrics::accepted);
        return metrics;
    }

    private synchronized void accepted(Run run) {
        active.add(run);
        // the future, not Run.onFinish: its handlers run before the final state is set
        run.finished().thenAccept(state -> finished(run, state));
    }

    private synchronized void finished(Run run, RunState state) {
        if (active.remove(run)) {
            for (TaskState state : TaskState.values()) {
                if (state.isTerminal()) {
                    finishedTasks.merge(state, (long) run.count(state), Long::sum);
                }
            }
            finishedRuns.merge(state, 1L, Long::sum);
        }
    }

    private synchronized double activeRuns() {
        return active.size();
    }

    private synchronized double tasks(TaskState state) {
        long sum = state.isTerminal() ? finishedTasks.getOrDefault(state, 0L) : 0;
        for (Run run : active) {
            sum += run.count(state);
        }
        return sum;
    }

    private synchronized double runs(RunState state) {
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
