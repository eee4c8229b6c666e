package dev.drover.serve;

import dev.drover.camel.DroverRuntime;
import dev.drover.manifest.ManifestException;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelExecutionException;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.ProducerTemplate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;

/**
 * Hands a manifest that came from the queue to the accept stage and returns as soon as its run is durably
 * recorded, not when it has finished: the JMS transaction then commits, so a message is acknowledged exactly when
 * the run directory and journal are on disk. The run itself is fed and runs in drover's own threads.
 * <p>
 * Why not wait for the whole run, as the drop folder does: a transaction held open for hours ties up a broker
 * session, and a crash in the middle would make the broker redeliver a manifest whose run is already recorded
 * (recovery resumes runs from the journal instead). The price is that the queue alone no longer limits how many
 * runs go on at once, so this intake does: at most {@code drover.queue.concurrent-runs} runs it started are
 * active; the next message waits (uncommitted, in the consumer) until one finishes.
 */
public final class QueueIntake {

    private static final Logger LOG = LoggerFactory.getLogger(QueueIntake.class);

    private final CamelContext context;
    private final Semaphore slots;
    private final int concurrentRuns;
    /**
     * The acceptance a feeder thread is waiting for. RunRegistry calls its accept listeners in the thread that
     * accepts the run, which is the feeder thread running direct:accept-manifest synchronously; the route's own
     * answer comes only after all tasks are fed.
     */
    private final ThreadLocal<CompletableFuture<Run>> pending = new ThreadLocal<>();
    private final boolean once;
    private volatile ExecutorService feeders;
    private volatile ProducerTemplate producer;

    QueueIntake(CamelContext context, RunRegistry runs, int concurrentRuns, boolean once) {
        if (concurrentRuns < 1) {
            throw new IllegalArgumentException("drover.queue.concurrent-runs must be at least 1, not " + concurrentRuns);
        }
        this.context = context;
        this.concurrentRuns = concurrentRuns;
        this.slots = new Semaphore(concurrentRuns);
        this.once = once;
        runs.onAccepted(run -> {
            CompletableFuture<Run> waiting = pending.get();
            if (waiting != null) {
                waiting.complete(run);
            }
        });
    }

    synchronized void enable() {
        if (feeders == null) {
            feeders = context.getExecutorServiceManager().newThreadPool(this, "drover-queue-run", concurrentRuns,
                    concurrentRuns);
            producer = context.createProducerTemplate();
        }
    }

    /**
     * Accepts the manifest in the message body; returns the run id once the run is on disk.
     *
     * @throws ManifestException the manifest is invalid (the route sends the message to the error queue)
     * @throws Exception         anything else: the route fails, the transaction rolls back, the broker redelivers
     */
    public String accept(Exchange exchange) throws Exception {
        if (feeders == null) {
            throw new IllegalStateException("the queue intake is not enabled: set drover.queue.url");
        }
        String text = manifestText(exchange.getMessage());
        slots.acquire();
        boolean handedOver = false;
        try {
            CompletableFuture<Run> accepted = new CompletableFuture<>();
            CompletableFuture<Run> fed = CompletableFuture.supplyAsync(() -> {
                pending.set(accepted);
                try {
                    // DroverOnce: a manifest accepted before (a redelivery) gives back its run (deduplicating
                    // intakes, drover.intake.deduplicate)
                    return producer.requestBodyAndHeader(DroverRuntime.ACCEPT_ENDPOINT, text, "DroverOnce", once,
                            Run.class);
                } finally {
                    pending.remove();
                }
            }, feeders);
            fed.whenComplete((answer, failure) -> {
                if (failure == null) {
                    // the run given back without a new acceptance (a duplicate), or already completed above
                    if (answer != null) {
                        accepted.complete(answer);
                    } else {
                        accepted.completeExceptionally(new IllegalStateException("the accept stage gave no run"));
                    }
                    return;
                }
                if (!accepted.isDone()) {
                    accepted.completeExceptionally(failure);
                } else if (context.isStopping() || context.isStopped()) {
                    // stopping: the run stays unfinished in its directory, for the next start to resume
                    LOG.info("run {}: feeding stopped by shutdown", accepted.join().id());
                } else {
                    // The run is recorded but could not be fed all its tasks: stop it, keep its record.
                    Run run = accepted.join();
                    LOG.error("run {}: feeding its tasks failed; cancelling it", run.id(), unwrap(failure));
                    run.cancel();
                }
            });
            Run run;
            try {
                run = accepted.get();
            } catch (ExecutionException e) {
                Throwable cause = unwrap(e);
                if (cause instanceof Exception exception) {
                    throw exception;
                }
                throw e;
            }
            // the slot is free again when the run ends; a future's callback runs even if it has ended already
            run.finished().whenComplete((state, failure) -> slots.release());
            handedOver = true;
            // AMQP and STOMP senders' messages have no JMS message id
            Object messageId = exchange.getMessage().getHeader("JMSMessageID");
            LOG.info("queue message{}: run {} accepted", messageId == null ? "" : " " + messageId, run.id());
            return run.id();
        } finally {
            if (!handedOver) {
                slots.release();
            }
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

    private static Throwable unwrap(Throwable failure) {
        Throwable cause = failure;
        while ((cause instanceof ExecutionException || cause instanceof java.util.concurrent.CompletionException
                || cause instanceof CamelExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }
}
