package dev.drover.serve;

import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.TaskEnd;
import dev.drover.run.TaskState;
import dev.drover.serve.EventOutbox.Box;
import dev.drover.serve.EventOutbox.Event;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Publishes run events as JSON to {@code drover.events.destination}: {@code run-accepted}, {@code task-finished}
 * (one per task that started), {@code run-progress} (at most every {@code drover.events.progress-interval} seconds,
 * when the counts changed) and {@code run-finished}. docs/events.md gives the fields and the guarantee; in short:
 * <ul>
 *   <li>At least once, in order per run. Every event is written to the run's {@link EventOutbox} file before it is
 *       sent, and stays owed until the broker has accepted it (a transaction's commit); after an outage, and after
 *       a restart of drover (even a kill -9), the owed events are sent again, in order. Each carries a stable
 *       {@code eventId} (RUN_ID/SEQ) and {@code seq}, numbered 1, 2, ... without gaps per run, so a consumer drops
 *       duplicates by eventId.</li>
 *   <li>Every run serve accepts or recovers ends with one run-finished (a run recovered without an outbox first
 *       gets a run-accepted with {@code "recovered": true}). A run whose end a crash kept from its outbox gets its
 *       run-finished from its report at the next start.</li>
 *   <li>Bounded: task-finished and run-progress events are admitted while fewer than {@code drover.events.backlog}
 *       of them are owed (in memory and on disk); beyond, new ones are dropped, counted (metric, and
 *       {@code eventsDropped} in the run's run-progress and run-finished) and logged once per burst. run-accepted and
 *       run-finished are never dropped.</li>
 * </ul>
 * Which event is due when, from the run registry's callbacks, is decided here, and the backlog is enforced here;
 * {@link EventDelivery} writes and sends them: the thread that accepts a run writes its run-accepted (so it is on
 * disk before any task starts); task ends and run ends only hand their event to the delivery's writer.
 */
public final class RunEvents {

    private static final Logger LOG = LoggerFactory.getLogger(RunEvents.class);
    /** task-finished and run-progress events that may be owed at once (drover.events.backlog). */
    static final int BACKLOG = 10_000;

    /** Sends a batch of events; returns only once the broker has them all (else throws). */
    interface Sink {
        void send(List<Event> batch) throws Exception;
    }

    private final CamelContext context;
    private final EventOutbox outbox;
    private final EventDelivery delivery;
    private final long progressSeconds;
    private final boolean taskEvents;
    private final int backlog;
    private final AtomicLong dropped = new AtomicLong();
    /** True from a logged drop until the next droppable event is admitted: one warning per burst. */
    private final AtomicBoolean dropping = new AtomicBoolean();
    private final AtomicLong bursts = new AtomicLong();
    /** The runs followed until they finish, with their count of done tasks at their last run-progress. */
    private final Map<Run, Integer> lastDone = new ConcurrentHashMap<>();

    /** @param backlog droppable events that may be owed ({@link #BACKLOG}; smaller in tests) */
    RunEvents(CamelContext context, EventOutbox outbox, Sink sink, long progressSeconds, boolean taskEvents,
              int backlog) {
        this.context = context;
        this.outbox = outbox;
        this.delivery = new EventDelivery(context, outbox, sink, backlog);
        this.progressSeconds = progressSeconds;
        this.taskEvents = taskEvents;
        this.backlog = backlog;
    }

    /** task-finished and run-progress events dropped because the backlog was full, since start. */
    long dropped() {
        return dropped.get();
    }

    /** Bursts of drops, i.e. warnings logged. */
    long dropBursts() {
        return bursts.get();
    }

    /** Events written to the outbox and not yet accepted by the broker. */
    int owed() {
        return delivery.owed();
    }

    /** Sends what a previous drover left owed, then follows the runs of this one. Call before recovery. */
    void attach(RunRegistry runs) {
        outbox.load(EventDelivery::droppable).forEach((box, unsent) -> {
            delivery.resume(box, unsent);
            if (!box.finishedWritten()) {
                finishFromReport(box, runs.runsDir().resolve(box.runId));
            } else if (unsent.isEmpty()) {
                box.sent(box.nextSeq() - 1); // everything was sent: only the deletion was missing
            }
        });
        runs.onAccepted(run -> {
            if (begin(run, false)) {
                watch(run);
            }
        });
        runs.onRecovered(run -> {
            // accepted by a drover that died before writing its run-accepted, or not by serve
            if (delivery.box(run.id()) != null || begin(run, true)) {
                watch(run);
            }
        });
        if (taskEvents) {
            runs.onTaskEnded(this::taskEnded);
        }
        delivery.start();
        if (progressSeconds > 0) {
            ScheduledExecutorService ticker = context.getExecutorServiceManager()
                    .newSingleThreadScheduledExecutor(this, "drover-events-progress");
            ticker.scheduleWithFixedDelay(this::progress, progressSeconds, progressSeconds, TimeUnit.SECONDS);
        }
    }

    /**
     * The run's outbox and its run-accepted, written before this returns (in the accepting thread: a crash after
     * the intake acknowledged the manifest finds it), forced to disk by the writer, with other events.
     */
    private boolean begin(Run run, boolean recovered) {
        Box box;
        try {
            box = outbox.create(run.id());
        } catch (RuntimeException e) {
            // the run goes on (its directory is its record): only its events are missing
            LOG.error("run {}: no events for it, its outbox cannot be written: {}", run.id(), e.getMessage());
            return false;
        }
        delivery.begin(box, "run-accepted", EventBodies.accepted(run, recovered));
        return true;
    }

    /** Writes run-finished when the run ends; once per run, whichever watch sees the end. */
    private void watch(Run run) {
        if (lastDone.putIfAbsent(run, -1) != null) {
            return;
        }
        // the future, not Run.onFinish: its handlers run before the final state is set
        run.finished().thenAccept(state -> {
            lastDone.remove(run);
            delivery.write(run.id(), () -> EventBodies.finished(run, state, dropped(run.id())));
        });
    }

    /** A run found finished at start whose outbox lacks run-finished: a crash came between the two. */
    private void finishFromReport(Box box, Path dir) {
        RunStatus status;
        try {
            status = Files.isDirectory(dir) ? RunStatus.read(dir) : null;
        } catch (IOException | RuntimeException e) {
            LOG.warn("run {}: cannot read its state for run-finished: {}", box.runId, e.toString());
            return;
        }
        if (status == null || status.finished()) {
            long dropped = box.dropped;
            delivery.write(box.runId, () -> EventBodies.finished(box.runId, dir, status, dropped));
        } // else: running; recovery hands it to onRecovered
    }

    private void progress() {
        lastDone.forEach((run, before) -> {
            int done = run.done();
            if (done != before && !run.finished().isDone()
                    && admit(run.id(), () -> EventBodies.progress(run, done, dropped(run.id())))) {
                lastDone.replace(run, before, done); // not when dropped: the next tick tries again
            }
        });
    }

    private void taskEnded(TaskEnd end) {
        if (end.state() == TaskState.CANCELLED && !end.started()) {
            return; // cancelling a large run would flood the backlog; run-finished counts them
        }
        // only the admission happens in the task's thread; the event is built in the writer's
        admit(end.run().id(), () -> EventBodies.taskFinished(end));
    }

    /** A task-finished or run-progress event: written only while fewer than the backlog are owed. */
    private boolean admit(String runId, Supplier<Map<String, Object>> event) {
        if (!delivery.reserveDroppable()) {
            long count = dropped.incrementAndGet();
            Box box = delivery.box(runId);
            if (box != null) {
                synchronized (box) {
                    box.dropped++;
                }
            }
            if (dropping.compareAndSet(false, true)) {
                bursts.incrementAndGet();
                LOG.warn("{} task-finished/run-progress events are owed to the broker: new ones are dropped ({} so far;"
                        + " run-accepted and run-finished are kept); set drover.events.task-finished=false for very"
                        + " large runs", backlog, count);
            }
            return false;
        }
        dropping.set(false); // admitted: the next drop starts a new burst
        delivery.write(runId, event);
        return true;
    }

    /** This run's task events dropped by this process, told in its run-progress and run-finished. */
    private long dropped(String runId) {
        Box box = delivery.box(runId);
        if (box == null) {
            return 0;
        }
        synchronized (box) {
            return box.dropped;
        }
    }
}
