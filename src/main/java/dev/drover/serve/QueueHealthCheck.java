package dev.drover.serve;

import org.apache.camel.Consumer;
import org.apache.camel.Route;
import org.apache.camel.component.jms.JmsConsumer;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.springframework.jms.listener.DefaultMessageListenerContainer;

import java.util.Map;

/**
 * Readiness of the queue intake: DOWN while drover has no connection to the broker (the listener keeps retrying,
 * and drover keeps running its runs: liveness stays UP). Two signs, either one enough: the shared connection failed
 * ({@link BrokerConnection}, told within seconds whatever the consumer is doing: it may be parked waiting for a run
 * slot), or the consumer of intake-queue is not registered with the broker. Camel has no such check for JMS
 * consumers of its own.
 */
final class QueueHealthCheck extends AbstractHealthCheck {

    private final String routeId;
    private final String url;
    private final BrokerConnection broker;

    QueueHealthCheck(String routeId, String url, BrokerConnection broker) {
        super("drover", "queue-intake");
        this.routeId = routeId;
        this.url = url;
        this.broker = broker;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        // the URL as a detail: the message is a plain sentence (Camel escapes both once more for JSON)
        builder.detail("broker", url);
        Route route = getCamelContext().getRoute(routeId);
        Consumer consumer = route == null ? null : route.getConsumer();
        if (!(consumer instanceof JmsConsumer jms) || !getCamelContext().getRouteController()
                .getRouteStatus(routeId).isStarted()) {
            builder.message("queue intake not started").up();
            return;
        }
        if (!broker.connected()) {
            broker.probe(); // nothing else may try while every run slot is busy
            builder.detail("failure", String.valueOf(broker.failure()));
            builder.message("not connected to the broker").down();
            return;
        }
        try {
            if (jms.getListenerContainer() instanceof DefaultMessageListenerContainer container
                    && container.isRegisteredWithDestination()) {
                builder.up();
            } else {
                builder.message("not connected to the broker").down();
            }
        } catch (Exception e) {
            builder.message("not connected to the broker").error(e).down();
        }
    }
}
