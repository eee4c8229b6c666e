package dev.drover.cluster;

import org.apache.camel.impl.DefaultCamelContext;

/** A started {@link ClusterScheduler} for lanes and trackers built without drover's Camel configuration. */
public final class TestScheduler implements AutoCloseable {

    private final DefaultCamelContext context = new DefaultCamelContext();
    private final ClusterScheduler scheduler = new ClusterScheduler(context);

    public TestScheduler() {
        scheduler.start();
    }

    public ClusterScheduler get() {
        return scheduler;
    }

    /** The context the scheduler's producer sends in: a test adds the routes a backend calls (and starts it). */
    public DefaultCamelContext context() {
        return context;
    }

    @Override
    public void close() {
        scheduler.stop();
        context.stop();
    }
}
