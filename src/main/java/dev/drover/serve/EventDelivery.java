package dev.drover.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.serve.EventOutbox.Box;
import dev.drover.serve.EventOutbox.Event;
import org.apache.camel.CamelContext;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The writer and the sender of run events (what is sent and the guarantee: {@link RunEvents}). Events handed over
 * are numbered and appended to their run's {@link EventOutbox} by the writer, which forces the run-level ones to
 * disk once per batch and then hands them to the sender; the sender sends what is owed in batches, one transaction
 * each, and after a failure waits (up to {@value #MAX_BACKOFF_MILLIS} ms) before trying again, so an absent broker
 * costs one attempt per pause, not one per event. Also keeps the count of droppable events owed, which bounds the
 * backlog.
 */
final class EventDelivery {

    private static final Logger LOG = LoggerFactory.getLogger(EventDelivery.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int BATCH = 500;
    private static final long FIRST_BACKOFF_MILLIS = 250;
    static final long MAX_BACKOFF_MILLIS = 5000;
    private static final long DRAIN_MILLIS = 3000;

    private final CamelContext context;
    private final EventOutbox outbox;
    private final RunEvents.Sink sink;
    private final int backlog;
    private final BlockingQueue<Supplier<Event>> writes = new LinkedBlockingQueue<>();
    private final BlockingQueue<Event> outgoing = new LinkedBlockingQueue<>();
    /** The outboxes of runs with events still to write or send, by run id. */
    private final Map<String, Box> boxes = new ConcurrentHashMap<>();
    /** Droppable events admitted and not yet sent. */
    private final AtomicInteger owedDroppable = new AtomicInteger();
    /** Events written and not yet sent. */
    private final AtomicInteger owed = new AtomicInteger();

    EventDelivery(CamelContext context, EventOutbox outbox, RunEvents.Sink sink, int backlog) {
        this.context = context;
        this.outbox = outbox;
        this.sink = sink;
        this.backlog = backlog;
    }

    /** task-finished and run-progress may be dropped when the backlog is full; the run-level events never are. */
    static boolean droppable(String type) {
        return type.equals("task-finished") || type.equals("run-progress");
    }

    /** Events written to the outbox and not yet accepted by the broker. */
    int owed() {
        return owed.get();
    }

    Box box(String runId) {
        return boxes.get(runId);
    }

    /** A box a previous drover left with events unsent: they are sent first, in order. */
    void resume(Box box, List<Event> unsent) {
        boxes.put(box.runId, box);
        unsent.stream().filter(Event::droppable).forEach(e -> owedDroppable.incrementAndGet());
        owed.addAndGet(unsent.size());
        outgoing.addAll(unsent);
    }

    /**
     * A new run's box and its first event, written here in the caller's thread (so that it is on disk before the
     * run's tasks start) and forced to disk with the writer's next batch.
     */
    void begin(Box box, String type, Map<String, Object> body) {
        boxes.put(box.runId, box);
        Event written = append(box, type, body);
        writes.add(() -> written);
    }

    /** Counts one more droppable event as owed, unless the backlog is full (then false: the caller drops it). */
    boolean reserveDroppable() {
        if (owedDroppable.incrementAndGet() > backlog) {
            owedDroppable.decrementAndGet();
            return false;
        }
        return true;
    }

    /**
     * Hands an event to the writer; its body is built in the writer's thread. A droppable one must have been
     * reserved ({@link #reserveDroppable}).
     */
    void write(String runId, Supplier<Map<String, Object>> event) {
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

    /** Starts the writer and the sender; when Camel stops, what is owed goes out first, briefly. */
    void start() {
        ExecutorService threads = context.getExecutorServiceManager().newFixedThreadPool(this, "drover-events", 2);
        try {
            // the run-finished of runs cancelled on exit is owed then; after the drain the two threads, which never
            // end by themselves, are interrupted (Camel would wait 10 s for them)
            context.addService(new ServiceSupport() {
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
    }

    /** Waits up to millis for everything handed over to be sent; what is left stays owed for the next start. */
    private void drain(long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while ((!writes.isEmpty() || owed() > 0) && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
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
            Set<Box> toForce = new HashSet<>();
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
            outbox.force(toForce); // side by side: the file system commits concurrent syncs together
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
        boolean failed = false;
        while (true) {
            try {
                sink.send(batch);
                if (failed) {
                    LOG.info("run events are accepted by the broker again ({} were owed)", owed());
                }
                return;
            } catch (Exception e) {
                if (context.isStopping() || context.isStopped()) {
                    throw new InterruptedException("stopping: owed events stay in the outbox for the next start");
                }
                if (!failed) {
                    failed = true; // one warning per outage
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
