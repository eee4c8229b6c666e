package dev.drover.serve;

import dev.drover.manifest.ManifestException;
import dev.drover.run.Run;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.Semaphore;

/**
 * The intake-queue route's limit on runs: the route records a manifest's run (direct:record-run) and ends, so that
 * the JMS transaction commits, as soon as the run directory and journal are on disk; the run is fed and runs in
 * drover's own threads.
 * <p>
 * Why not wait for the whole run, as the drop folder does: a transaction held open for hours ties up a broker
 * session, and a crash in the middle would make the broker redeliver a manifest whose run is already recorded
 * (recovery resumes runs from the journal instead). The price is that the queue alone no longer limits how many
 * runs go on at once, so this intake does: at most {@code drover.queue.concurrent-runs} runs it started are
 * active; the next message waits (uncommitted, in the consumer) until one finishes.
 */
public final class QueueIntake {

    private static final Logger LOG = LoggerFactory.getLogger(QueueIntake.class);
    /** Set while a message holds a slot that no run has taken over yet. */
    private static final String SLOT = "DroverQueueSlot";
    /** The message body as received, for the error queue. */
    private static final String RECEIVED = "DroverReceived";

    private final Semaphore slots;
    private final int concurrentRuns;
    private volatile boolean enabled;

    QueueIntake(int concurrentRuns) {
        if (concurrentRuns < 1) {
            throw new IllegalArgumentException("drover.queue.concurrent-runs must be at least 1, not " + concurrentRuns);
        }
        this.concurrentRuns = concurrentRuns;
        this.slots = new Semaphore(concurrentRuns);
    }

    void enable() {
        enabled = true;
    }

    /**
     * The manifest text of the message, once a slot is free; the slot is the message's until {@link #hold} hands it
     * to the run or {@link #releaseUnheld} gives it back.
     *
     * @throws ManifestException the body is not text (the route sends the message to the error queue)
     */
    public String take(Exchange exchange) throws InterruptedException {
        Object received = exchange.getMessage().getBody();
        exchange.setProperty(RECEIVED, received);
        if (!enabled) {
            throw new IllegalStateException("the queue intake is not enabled: set drover.queue.url");
        }
        String text = manifestText(exchange.getMessage());
        slots.acquire();
        exchange.setProperty(SLOT, Boolean.TRUE);
        return text;
    }

    /** The message's slot now belongs to its run (new, or the earlier run of a redelivery): free when it ends. */
    public void hold(Run run, Exchange exchange) {
        if (exchange.removeProperty(SLOT) == null) {
            return;
        }
        // a future's callback runs even if it has ended already
        run.finished().whenComplete((state, failure) -> slots.release());
        // AMQP and STOMP senders' messages have no JMS message id
        Object messageId = exchange.getMessage().getHeader("JMSMessageID");
        LOG.info("queue message{}: run {} accepted", messageId == null ? "" : " " + messageId, run.id());
    }

    /** Gives back the slot of a message that made no run (refused, or failed and rolled back). */
    public void releaseUnheld(Exchange exchange) {
        if (exchange.removeProperty(SLOT) != null) {
            slots.release();
        }
    }

    /** Runs this intake started that have not finished. */
    public int activeRuns() {
        return concurrentRuns - slots.availablePermits();
    }

    private static String manifestText(Message message) {
        Object body = message.getBody();
        if (body instanceof String text) {
            return text;
        }
        if (body instanceof byte[] bytes) {
            return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
        }
        throw new ManifestException("message", "the body is " + (body == null ? "empty" : body.getClass().getName())
                + ": send the manifest as a JMS text message (JSON or YAML)");
    }
}
