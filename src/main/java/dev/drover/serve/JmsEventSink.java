package dev.drover.serve;

import dev.drover.serve.EventOutbox.Event;
import jakarta.jms.Connection;
import jakarta.jms.ConnectionFactory;
import jakarta.jms.DeliveryMode;
import jakarta.jms.Destination;
import jakarta.jms.JMSException;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;

import java.util.List;

/**
 * Sends run events to {@code drover.events.destination} ("queue:NAME", "topic:NAME" or NAME for a queue): a batch in
 * one local transaction, so the broker has every event of the batch once the commit returns (one disk write on the
 * broker for the batch, not one per event). Properties: DroverEvent, DroverRunId, DroverEventId (header names
 * without dots: JMS mangles them for other clients; DroverEvent works in selectors).
 * <p>
 * Plain JMS rather than a Camel route: a route sends and commits message by message, and what the outbox needs to
 * know is when a whole batch is on the broker.
 */
final class JmsEventSink implements RunEvents.Sink {

    private final ConnectionFactory factory;
    private final String name;
    private final boolean topic;

    JmsEventSink(ConnectionFactory factory, String destination) {
        this.factory = factory;
        this.topic = destination.startsWith("topic:");
        this.name = destination.replaceFirst("^(queue|topic):", "");
    }

    /** The queue a destination names, or null for a topic or none. */
    static String queueOf(String destination) {
        return destination.isBlank() || destination.startsWith("topic:") ? null
                : destination.replaceFirst("^queue:", "");
    }

    @Override
    public void send(List<Event> batch) throws JMSException {
        // with drover's CachingConnectionFactory: the shared connection and a cached session (close returns it)
        try (Connection connection = factory.createConnection();
             Session session = connection.createSession(true, Session.SESSION_TRANSACTED)) {
            Destination destination = topic ? session.createTopic(name) : session.createQueue(name);
            try (MessageProducer producer = session.createProducer(destination)) {
                producer.setDeliveryMode(DeliveryMode.PERSISTENT);
                for (Event event : batch) {
                    TextMessage message = session.createTextMessage(event.json());
                    message.setStringProperty("DroverEvent", event.type());
                    message.setStringProperty("DroverRunId", event.runId());
                    message.setStringProperty("DroverEventId", event.eventId());
                    producer.send(message);
                }
                session.commit();
            }
        }
    }
}
