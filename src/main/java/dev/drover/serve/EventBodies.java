package dev.drover.serve;

import dev.drover.run.Run;
import dev.drover.run.RunReport;
import dev.drover.run.RunState;
import dev.drover.run.TaskEnd;
import dev.drover.run.TaskState;

import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** The fields of each run event (docs/events.md); RunEvents numbers them (eventId, seq) and writes them. */
final class EventBodies {

    private EventBodies() {
    }

    static Map<String, Object> accepted(Run run, boolean recovered) {
        Map<String, Object> event = base(run, "run-accepted");
        event.put("name", run.plan().manifest().name());
        event.put("strategy", run.strategyName());
        event.put("runDir", run.dir().toString());
        if (recovered) {
            event.put("recovered", true);
        }
        return event;
    }

    static Map<String, Object> taskFinished(TaskEnd end) {
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

    static Map<String, Object> progress(Run run, int done, long dropped) {
        Map<String, Object> event = base(run, "run-progress");
        event.put("done", done);
        event.put("counts", counts(run));
        event.put("eventsDropped", dropped);
        return event;
    }

    static Map<String, Object> finished(Run run, RunState state, long dropped) {
        Map<String, Object> event = base(run, "run-finished");
        event.put("state", state.name());
        event.put("counts", counts(run));
        event.put("report", run.dir().resolve(RunReport.FILE).toString());
        event.put("eventsDropped", dropped);
        return event;
    }

    /**
     * run-finished of a run found ended at start whose end a crash kept from its outbox, from its report; status null
     * when its directory was removed: state UNKNOWN.
     */
    static Map<String, Object> finished(String runId, Path dir, RunStatus status, long dropped) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("event", "run-finished");
        event.put("runId", runId);
        event.put("time", Instant.now().toString());
        event.put("tasks", status == null ? null : status.tasks());
        event.put("state", status == null ? "UNKNOWN" : status.state());
        event.put("counts", status == null ? null : status.counts());
        event.put("report", dir.resolve(RunReport.FILE).toString());
        event.put("eventsDropped", dropped);
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

    private static Map<String, Integer> counts(Run run) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (TaskState state : TaskState.values()) {
            counts.put(state.name().toLowerCase(Locale.ROOT), run.count(state));
        }
        return counts;
    }
}
