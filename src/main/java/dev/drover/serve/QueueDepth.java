package dev.drover.serve;

import jakarta.jms.Connection;
import jakarta.jms.ConnectionFactory;
import jakarta.jms.JMSException;
import jakarta.jms.Message;
import jakarta.jms.MessageConsumer;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import jakarta.jms.TemporaryQueue;
import org.apache.activemq.artemis.api.core.management.ResourceNames;
import org.apache.activemq.artemis.api.jms.management.JMSManagementHelper;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * How many messages the manifests queue holds, asked of the Artemis broker's management address (the queue's
 * messageCount: every message not yet acknowledged, including those already delivered to the intake and not yet
 * turned into a run). Management answers in one request-reply whatever the queue's length; browsing would read every
 * message, and miss those the consumer has prefetched.
 * <p>
 * A scrape must never hang on the broker: the question goes out from a thread of its own, the scrape waits for the
 * answer at most {@value #SCRAPE_WAIT_MILLIS} ms, and NaN stands for "not known" (broker unreachable, slow, or no
 * right to manage). An answer is reused for {@value #CACHE_MILLIS} ms, so frequent scrapes cost the broker nothing.
 */
final class QueueDepth {

    private static final Logger LOG = LoggerFactory.getLogger(QueueDepth.class);
    /** Artemis' default management address (management-address in broker.xml). */
    private static final String MANAGEMENT_ADDRESS = "activemq.management";
    static final long CACHE_MILLIS = 5000;
    static final long SCRAPE_WAIT_MILLIS = 1000;
    private static final long REPLY_WAIT_MILLIS = 5000;

    private final ConnectionFactory factory;
    private final String queue;
    private final ExecutorService asker;
    private volatile double depth = Double.NaN;
    private long answeredAt;
    private long askedAt;
    private Future<?> asking;
    private boolean failureLogged;

    QueueDepth(CamelContext context, ConnectionFactory factory, String queue) {
        this.factory = factory;
        this.queue = queue;
        // Camel's: stopped with the context
        this.asker = context.getExecutorServiceManager().newSingleThreadExecutor(this, "drover-queue-depth");
    }

    String queue() {
        return queue;
    }

    /** The messages in the queue, or NaN when the broker did not tell in time. */
    double depth() {
        Future<?> answer;
        synchronized (this) {
            long now = System.currentTimeMillis();
            if (asking == null || asking.isDone()) {
                if (now - answeredAt < CACHE_MILLIS) {
                    return depth;
                }
                askedAt = now;
                asking = asker.submit(this::ask);
            } else if (now - askedAt > SCRAPE_WAIT_MILLIS) {
                return Double.NaN; // an earlier question is still unanswered: the broker is not answering
            }
            answer = asking;
        }
        try {
            answer.get(SCRAPE_WAIT_MILLIS, TimeUnit.MILLISECONDS);
            return depth;
        } catch (TimeoutException | ExecutionException e) {
            return Double.NaN;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Double.NaN;
        }
    }

    private void ask() {
        double answer;
        try {
            answer = messageCount();
            failureLogged = false;
        } catch (Exception e) {
            answer = Double.NaN;
            if (!failureLogged) {
                // once per outage: a down broker would otherwise log at every scrape
                LOG.warn("queue depth of {} unknown: {}", queue, e.toString());
                failureLogged = true;
            }
        }
        depth = answer;
        synchronized (this) {
            answeredAt = System.currentTimeMillis();
        }
    }

    private long messageCount() throws Exception {
        // With drover's CachingConnectionFactory this is the shared connection (close does not close it).
        try (Connection connection = factory.createConnection()) {
            connection.start();
            try (Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE)) {
                TemporaryQueue replies = session.createTemporaryQueue();
                try (MessageProducer producer = session.createProducer(session.createQueue(MANAGEMENT_ADDRESS));
                     MessageConsumer consumer = session.createConsumer(replies)) {
                    Message request = session.createMessage();
                    JMSManagementHelper.putAttribute(request, ResourceNames.QUEUE + queue, "messageCount");
                    request.setJMSReplyTo(replies);
                    producer.send(request);
                    Message reply = consumer.receive(REPLY_WAIT_MILLIS);
                    if (reply == null) {
                        throw new JMSException("no answer from " + MANAGEMENT_ADDRESS + " within "
                                + REPLY_WAIT_MILLIS + " ms");
                    }
                    Object result = JMSManagementHelper.getResult(reply);
                    if (!JMSManagementHelper.hasOperationSucceeded(reply) || !(result instanceof Number count)) {
                        throw new JMSException("the broker refused: " + result);
                    }
                    return count.longValue();
                } finally {
                    replies.delete();
                }
            }
        }
    }
}
