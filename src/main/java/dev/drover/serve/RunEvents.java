package dev.drover.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.TaskEnd;
import dev.drover.run.TaskState;
import dev.drover.serve.EventOutbox.Box;
import dev.drover.serve.EventOutbox.Event;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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
 * Three threads: the one that accepts a run writes its run-accepted (so it is on disk before any task starts);
 * task ends and run ends only hand their event to the writer, which appends events and forces the run-level ones to
 * disk once per batch, then hands them to the sender; the sender sends what is owed in batches, one transaction
 * each, and after a failure waits (up to {@value #MAX_BACKOFF_MILLIS} ms) before trying again, so an absent broker
 * costs one attempt per pause, not one per event.
 */
public final class RunEvents {

    private static final Logger LOG = LoggerFactory.getLogger(RunEvents.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** task-finished and run-progress events that may be owed at once (drover.events.backlog). */
    static final int BACKLOG = 10_000;
    private static final int BATCH = 500;
    private static final long FIRST_BACKOFF_MILLIS = 250;
    static final long MAX_BACKOFF_MILLIS = 5000;
    private static final long DRAIN_MILLIS = 3000;

    /** Sends a batch of events; returns only once the broker has them all (else throws). */
    interface Sink {
        void send(List<Event> batch) throws Exception;
    }

    private final CamelContext context;
    private final EventOutbox outbox;
    private final Sink sink;
    private final long progressSeconds;
    private final boolean taskEvents;
    private final int backlog;
    private final BlockingQueue<Supplier<Event>> writes = new LinkedBlockingQueue<>();
    private final BlockingQueue<Event> outgoing = new LinkedBlockingQueue<>();
    private final Map<String, Box> boxes = new ConcurrentHashMap<>();
    /** Droppable events admitted and not yet sent. */
    private final AtomicInteger owedDroppable = new AtomicInteger();
    /** Events written and not yet sent. */
    private final AtomicInteger owed = new AtomicInteger();
    private final AtomicLong dropped = new AtomicLong();
    /** True from a logged drop until the next droppable event is admitted: one warning per burst. */
    private final AtomicBoolean dropping = new AtomicBoolean();
    private final AtomicLong bursts = new AtomicLong();
    private final Map<Run, Integer> lastDone = new ConcurrentHashMap<>();

    /** @param backlog droppable events that may be owed ({@link #BACKLOG}; smaller in tests) */
    RunEvents(CamelContext context, EventOutbox outbox, Sink sink, long progressSeconds, boolean taskEvents,
              int backlog) {
        this.context = context;
        this.outbox = outbox;
        this.sink = sink;
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
        return owed.get();
    }

    /** Sends what a previous drover left owed, then follows the runs of this one. Call before recovery. */
    void attach(RunRegistry runs) {
        outbox.load(RunEvents::droppable).forEach((box, unsent) -> {
            boxes.put(box.runId, box);
            unsent.stream().filter(Event::droppable).forEach(e -> owedDroppable.incrementAndGet());
            owed.addAndGet(unsent.size());
            outgoing.addAll(unsent);
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
            if (boxes.containsKey(run.id()) || begin(run, true)) {
                watch(run);
            }
        });
        if (taskEvents) {
            runs.onTaskEnded(this::taskEnded);
        }
        ExecutorService threads = context.getExecutorServiceManager().newFixedThreadPool(this, "drover-events", 2);
        try {
            // stopping: what is owed (the run-finished of runs cancelled on exit) goes out first, briefly; then the
            // two threads, which never end by themselves, are interrupted (Camel would wait 10 s for them)
            context.addService(new org.apache.camel.support.service.ServiceSupport() {
                @Override
                protected void doStop() throws InterruptedException {
                    drain(DRAIN_MILLIS);
                    context.getExecutorServiceManager().shutdownNow(threads);
                }
            });
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        threads.execute(this::writeLoop);
        threads.execute(this::sendLoop);
        if (progressSeconds > 0) {
            ScheduledExecutorService ticker = context.getExecutorServiceManager()
                    .newSingleThreadScheduledExecutor(this, "drover-events-progress");
            ticker.scheduleWithFixedDelay(() -> progress(runs), progressSeconds, progressSeconds, TimeUnit.SECONDS);
        }
    }

    /** Waits up to millis for everything handed over to be sent; what is left stays owed for the next start. */
    void drain(long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while ((!writes.isEmpty() || owed() > 0) && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
    }

    private static boolean droppable(String type) {
        return type.equals("task-finished") || type.equals("run-progress");
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
        boxes.put(run.id(), box);
        Event written = append(box, "run-accepted", EventBodies.accepted(run, recovered));
        writes.add(() -> written); // forced to disk with the writer's next batch, then sent before the run's others
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
            write(run.id(), () -> EventBodies.finished(run, state, dropped(run.id())));
        });
    }

    /** A run found finished at start whose outbox lacks run-finished: a crash came between the two. */
    private void finishFromReport(Box box, java.nio.file.Path dir) {
        RunStatus status;
        try {
            status = java.nio.file.Files.isDirectory(dir) ? RunStatus.read(dir) : null;
        } catch (java.io.IOException | RuntimeException e) {
            LOG.warn("run {}: cannot read its state for run-finished: {}", box.runId, e.toString());
            return;
        }
        if (status == null || status.finished()) {
            long dropped = box.dropped;
            write(box.runId, () -> EventBodies.finished(box.runId, dir, status, dropped));
        } // else: running; recovery hands it to onRecovered
    }

    private void progress(RunRegistry runs) {
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
        if (owedDroppable.incrementAndGet() > backlog) {
            owedDroppable.decrementAndGet();
            long count = dropped.incrementAndGet();
            Box box = boxes.get(runId);
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
        write(runId, event);
        return true;
    }

    private long dropped(String runId) {
        Box box = boxes.get(runId);
        if (box == null) {
            return 0;
        }
        synchronized (box) {
            return box.dropped;
        }
    }

    private void write(String runId, Supplier<Map<String, Object>> event) {
        writes.add(() -> {
            Box box = boxes.get(runId);
            Map<String, Object> body = event.get();
            String type = (String) body.get("event");
            if (box == null || box.deleted() || ("run-finished".equals(type) && box.finishedWritten())) {
                // a task's end told after its run's end was sent (see docs/events.md), or a second run-finished
                if (droppable(type)) {
                    owedDroppable.decrementAndGet();
                }
                return null;
            }
            try {
                return append(box, type, body);
            } catch (RuntimeException e) {
                if (droppable(type)) {
                    owedDroppable.decrementAndGet(); // not owed: it never reached the outbox
                }
                throw e;
            }
        });
    }

    /** Numbers the event, writes it to the run's outbox. */
    private static Event append(Box box, String type, Map<String, Object> body) {
        synchronized (box) {
            long seq = box.nextSeq();
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("eventId", box.runId + "/" + seq);
            event.put("seq", seq);
            event.putAll(body);
            try {
                return box.append(type, JSON.writeValueAsString(event), droppable(type));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("event " + type + " of run " + box.runId + " cannot be written", e);
            }
        }
    }

    /** Appends what was handed over, forces run-level events to disk once per batch, then hands them to the sender. */
    private void writeLoop() {
        List<Supplier<Event>> batch = new ArrayList<>();
        List<Event> written = new ArrayList<>();
        while (!Thread.currentThread().isInterrupted()) {
            try {
                batch.add(writes.take());
            } catch (InterruptedException e) {
                return;
            }
            writes.drainTo(batch, BATCH - 1);
            java.util.Set<Box> toForce = new java.util.HashSet<>();
            for (Supplier<Event> write : batch) {
                try {
                    Event event = write.get();
                    if (event != null) {
                        written.add(event);
                        if (!event.droppable()) {
                            toForce.add(event.box());
                        }
                    }
                } catch (RuntimeException e) {
                    LOG.error("cannot write a run event to the outbox: {}", e.toString());
                }
            }
            outbox.force(toForce);
            toForce.forEach(Box::releaseIfFinished);
            owed.addAndGet(written.size());
            outgoing.addAll(written);
            batch.clear();
            written.clear();
        }
    }

    /** Sends what is owed in batches; a batch the broker did not take is sent again after a pause. */
    private void sendLoop() {
        List<Event> batch = new ArrayList<>();
        while (!Thread.currentThread().isInterrupted()) {
            try {
                batch.add(outgoing.take());
                outgoing.drainTo(batch, BATCH - 1);
                sendUntilAccepted(batch);
            } catch (InterruptedException e) {
                return;
            }
            owed.addAndGet(-batch.size());
            Map<Box, Long> last = new LinkedHashMap<>();
            for (Event event : batch) {
                last.merge(event.box(), event.seq(), Math::max);
                if (event.droppable()) {
                    owedDroppable.decrementAndGet();
                }
            }
            last.forEach((box, seq) -> {
                if (box.sent(seq)) {
                    boxes.remove(box.runId, box);
                }
            });
            batch.clear();
        }
    }

    private void sendUntilAccepted(List<Event> batch) throws InterruptedException {
        long backoff = FIRST_BACKOFF_MILLIS;
        long failedSince = 0;
        while (true) {
            try {
                sink.send(batch);
                if (failedSince != 0) {
                    LOG.info("run events are accepted by the broker again ({} were owed)", owed());
                }
                return;
            } catch (Exception e) {
                if (context.isStopping() || context.isStopped()) {
                    throw new InterruptedException("stopping: owed events stay in the outbox for the next start");
                }
                if (failedSince == 0) {
                    failedSince = System.currentTimeMillis();
                    LOG.warn("cannot publish run events ({} owed, kept in the outbox and sent again): {}",
                            owed(), rootMessage(e));
                }
                Thread.sleep(backoff);
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            }
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable cause = e;
        while (cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause.toString();
    }
}
