package dev.drover.serve;

import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.server.MessageReference;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ;
import org.apache.activemq.artemis.core.settings.impl.AddressSettings;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.apache.activemq.artemis.utils.collections.LinkedListIterator;

import jakarta.jms.JMSContext;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An ActiveMQ Artemis broker in the test JVM, on a real TCP port of 127.0.0.1 that accepts Artemis core and AMQP 1.0
 * (one acceptor, as a standalone broker's 61616); no security. In memory, or persistent in its data folder
 * (messages survive {@link #stop} and {@link #start}, as with a real broker's restart).
 */
public final class TestBroker implements AutoCloseable {

    private final EmbeddedActiveMQ broker = new EmbeddedActiveMQ();
    private final String url;
    private final int port;

    public TestBroker(Path dataDir) throws Exception {
        this(dataDir, false);
    }

    public TestBroker(Path dataDir, boolean persistent) throws Exception {
        port = freePort();
        url = "tcp://127.0.0.1:" + port;
        Configuration config = new ConfigurationImpl()
                .setPersistenceEnabled(persistent)
                .setSecurityEnabled(false)
                .setJMXManagementEnabled(false);
        config.setBrokerInstance(dataDir.toFile());
        config.setJournalDirectory(dataDir.resolve("journal").toString());
        config.setBindingsDirectory(dataDir.resolve("bindings").toString());
        config.setPagingDirectory(dataDir.resolve("paging").toString());
        config.setLargeMessagesDirectory(dataDir.resolve("large").toString());
        config.addAcceptorConfiguration("tcp", url + "?protocols=CORE,AMQP");
        // a rolled-back message comes back after a short pause, and is never dropped after N attempts
        config.addAddressSetting("#", new AddressSettings().setRedeliveryDelay(200).setMaxDeliveryAttempts(-1));
        broker.setConfiguration(config);
        broker.start();
    }

    public String url() {
        return url;
    }

    public int port() {
        return port;
    }

    /** Stops the broker: its clients' connections fail, as in an outage. */
    public void stop() throws Exception {
        broker.stop();
    }

    /** Starts a stopped broker again, on the same port. */
    public void start() throws Exception {
        broker.start();
    }

    public JMSContext client() {
        return new ActiveMQConnectionFactory(url).createContext();
    }

    /** Messages on a queue, including those delivered and not yet acknowledged; 0 if the queue does not exist. */
    public long messageCount(String queue) {
        Queue q = broker.getActiveMQServer().locateQueue(SimpleString.of(queue));
        return q == null ? 0 : q.getMessageCount();
    }

    public boolean queueExists(String queue) {
        return broker.getActiveMQServer().locateQueue(SimpleString.of(queue)) != null;
    }

    /**
     * The most deliveries any message on a queue has had that were not acknowledged (rolled back, waiting to be
     * redelivered or being delivered again); 0 if the queue does not exist or none were.
     */
    public int failedDeliveries(String queue) {
        Queue q = broker.getActiveMQServer().locateQueue(SimpleString.of(queue));
        if (q == null) {
            return 0;
        }
        List<MessageReference> refs = new ArrayList<>(q.getScheduledMessages());
        q.getDeliveringMessages().values().forEach(refs::addAll);
        try (LinkedListIterator<MessageReference> waiting = q.browserIterator()) {
            waiting.forEachRemaining(refs::add);
        }
        return refs.stream().mapToInt(MessageReference::getDeliveryCount).max().orElse(0);
    }

    public static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @Override
    public void close() throws Exception {
        broker.stop();
    }
}
