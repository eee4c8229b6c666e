package dev.drover.serve;

import jakarta.jms.Connection;
import jakarta.jms.ConnectionFactory;
import jakarta.jms.JMSContext;
import jakarta.jms.JMSException;

/**
 * The JMS connection factory when no broker is configured: the queue routes can be built (they are part of
 * routes/) without a broker, and anything that tries to use one learns why it cannot.
 */
final class NoBroker implements ConnectionFactory {

    private static final String WHY = "no message broker configured: give drover serve --queue URL or set"
            + " drover.queue.url";

    @Override
    public Connection createConnection() throws JMSException {
        throw new JMSException(WHY);
    }

    @Override
    public Connection createConnection(String userName, String password) throws JMSException {
        throw new JMSException(WHY);
    }

    @Override
    public JMSContext createContext() {
        throw new IllegalStateException(WHY);
    }

    @Override
    public JMSContext createContext(String userName, String password) {
        throw new IllegalStateException(WHY);
    }

    @Override
    public JMSContext createContext(String userName, String password, int sessionMode) {
        throw new IllegalStateException(WHY);
    }

    @Override
    public JMSContext createContext(int sessionMode) {
        throw new IllegalStateException(WHY);
    }
}
