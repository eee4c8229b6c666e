package dev.drover.serve;

import org.apache.camel.Consumer;
import org.apache.camel.Route;
import org.apache.camel.component.jms.JmsConsumer;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.springframework.jms.listener.DefaultMessageListenerContainer;

import java.util.Map;

/**
 * Readiness of the queue intake: DOWN while the consumer of intake-queue has no connection to the broker (the
 * listener keeps retrying, and drover keeps running its runs: liveness stays UP). Camel has no such check for JMS
 * consumers of its own.
 */
final class QueueHealthCheck extends AbstractHealthCheck {

    private final String routeId;
    private final String url;

    QueueHealthCheck(String routeId, String url) {
        super("drover", "queue-intake");
        this.routeId = routeId;
        this.url = url;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        builder.detail("broker", url);
        Route route = getCamelContext().getRoute(routeId);
        Consumer consumer = route == null ? null : route.getConsumer();
        if (!(consumer instanceof JmsConsumer jms) || !getCamelContext().getRouteController()
                .getRouteStatus(routeId).isStarted()) {
            builder.message("queue intake not started").up();
            return;
        }
        try {
            if (jms.getListenerContainer() instanceof DefaultMessageListenerContainer container
                    && container.isRegisteredWithDestination()) {
                builder.up();
            } else {
                builder.message("not connected to the broker at " + url).down();
            }
        } catch (Exception e) {
            builder.message("not connected to the broker at " + url).error(e).down();
        }
    }
}
