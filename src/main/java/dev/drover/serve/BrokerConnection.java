package dev.drover.serve;

import jakarta.jms.Connection;
import jakarta.jms.ExceptionListener;
import jakarta.jms.JMSException;
import jakarta.jms.Session;
import org.apache.activemq.artemis.api.core.ActiveMQException;
import org.apache.activemq.artemis.api.core.ActiveMQQueueExistsException;
import org.apache.activemq.artemis.api.core.QueueConfiguration;
import org.apache.activemq.artemis.api.core.RoutingType;
import org.apache.activemq.artemis.api.core.client.ClientSession;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.apache.activemq.artemis.jms.client.ActiveMQSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jms.connection.CachingConnectionFactory;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * drover's one connection to the broker, shared by the queue consumer, the event sender and the depth probe (its
 * sessions cached: without the cache every send would open and close a connection; the consumer's transacted session
 * is exposed to sends from its thread, so a send to the error queue commits with the message it is about).
 * <p>
 * It knows whether the connection is alive, for readiness: the broker's failure is told by Artemis at once when the
 * broker closes the socket, and within {@value #FAILURE_CHECK_MILLIS} ms (the client's ping) when it goes silent.
 * Nothing else would tell: a consumer parked waiting for a run slot never sees its session die.
 * <p>
 * Each new connection creates drover's queues (manifests, errors, events) as durable ANYCAST queues if they do not
 * exist: a sender that does not say "queue" (an AMQP 1.0 client without the queue capability, or STOMP) would
 * otherwise make the broker auto-create a MULTICAST address with no queue and discard its messages. Where the
 * user may not create queues (Artemis createDurableQueue/createAddress permissions), drover says so once and goes on:
 * the queues must then be created on the broker (as anycast).
 */
final class BrokerConnection extends CachingConnectionFactory {

    private static final Logger LOG = LoggerFactory.getLogger(BrokerConnection.class);
    static final long FAILURE_CHECK_MILLIS = 5000;

    private final List<String> queues;
    private final Set<String> refused = ConcurrentHashMap.newKeySet();
    private volatile Connection current;
    private volatile boolean connected;
    private volatile String failure = "not connected yet";
    private final AtomicBoolean probing = new AtomicBoolean();
    private final Executor prober;

    /** @param prober where {@link #probe} connects again: a Camel-managed thread, seen in its thread dumps and stop */
    BrokerConnection(String url, String user, String password, List<String> queues, Executor prober) {
        super(artemis(url, user, password));
        this.queues = queues;
        this.prober = prober;
        setSessionCacheSize(10);
        setReconnectOnException(true);
    }

    private static ActiveMQConnectionFactory artemis(String url, String user, String password) {
        ActiveMQConnectionFactory artemis = new ActiveMQConnectionFactory(url);
        if (!user.isBlank()) {
            artemis.setUser(user);
            artemis.setPassword(password);
        }
        // Artemis pings every 30 s by default: a silent broker would look alive that long. The URL may say otherwise.
        if (!url.contains("clientFailureCheckPeriod")) {
            artemis.setClientFailureCheckPeriod(FAILURE_CHECK_MILLIS);
        }
        if (!url.contains("connectionTTL")) {
            artemis.setConnectionTTL(3 * FAILURE_CHECK_MILLIS);
        }
        return artemis;
    }

    /** Whether the shared connection is up: false from its failure until a new one is made. */
    boolean connected() {
        return connected;
    }

    /** Why not connected. */
    String failure() {
        return failure;
    }

    /**
     * Tries to connect again in the background when the connection is down and no one else does (the consumer may be
     * parked, and events may have nothing to send): readiness comes back when the broker does.
     */
    void probe() {
        if (connected || !probing.compareAndSet(false, true)) {
            return;
        }
        try {
            prober.execute(() -> {
                try (Connection connection = createConnection()) {
                    connection.getMetaData(); // the shared connection, made (and prepared) if it was not
                } catch (JMSException | RuntimeException e) {
                    failure = e.getMessage();
                } finally {
                    probing.set(false);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            probing.set(false); // drover is stopping: nothing to probe for
        }
    }

    @Override
    protected void prepareConnection(Connection connection) throws JMSException {
        super.prepareConnection(connection);
        ExceptionListener reconnect = connection.getExceptionListener();
        connection.setExceptionListener(e -> {
            if (current == connection) {
                connected = false;
                failure = e.getMessage();
            }
            if (reconnect != null) {
                reconnect.onException(e);
            }
        });
        createQueues(connection);
        current = connection;
        connected = true;
    }

    /** A connection that failed is closed quietly: Spring would log a stack trace for every outage. */
    @Override
    protected void closeConnection(Connection connection) {
        try {
            connection.close();
        } catch (JMSException | RuntimeException e) {
            LOG.debug("closing the failed broker connection: {}", e.toString());
        }
    }

    private void createQueues(Connection connection) {
        try (Session jms = connection.createSession(false, Session.AUTO_ACKNOWLEDGE)) {
            ClientSession session = ((ActiveMQSession) jms).getCoreSession();
            for (String queue : queues) {
                try {
                    session.createQueue(QueueConfiguration.of(queue).setRoutingType(RoutingType.ANYCAST)
                            .setDurable(true).setAutoCreateAddress(true));
                    LOG.info("created the queue {} (anycast) on the broker", queue);
                } catch (ActiveMQQueueExistsException exists) {
                    // created by an earlier start, by the broker's configuration or by a consumer
                } catch (ActiveMQException e) {
                    if (refused.add(queue)) {
                        LOG.warn("cannot create the queue {} on the broker ({}): create it there as an anycast queue,"
                                + " else senders that do not ask for a queue (AMQP without the queue capability,"
                                + " STOMP) may have their messages discarded", queue, e.getMessage());
                    }
                }
            }
        } catch (JMSException | RuntimeException e) {
            LOG.warn("cannot create drover's queues on the broker: {}", e.getMessage());
        }
    }
}
