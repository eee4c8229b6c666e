package dev.drover.local;

import dev.drover.run.Run;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.TemplatedRouteBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.ExecutorService;

/**
 * Gives each multiprocessing run its own SEDA lane, made from the {@code lane-multiprocessing} route template with
 * exactly --jobs concurrent consumers, so that runs served side by side each keep their own limit. The lane is
 * removed when its run finishes.
 */
public final class LocalLanes {

    private static final Logger LOG = LoggerFactory.getLogger(LocalLanes.class);
    public static final String TEMPLATE = "lane-multiprocessing";

    private final CamelContext context;
    private final ExecutorService closer;

    public LocalLanes(CamelContext context) {
        this.context = context;
        this.closer = context.getExecutorServiceManager().newSingleThreadExecutor(this, "drover-lane-closer");
    }

    public synchronized void open(Run run) {
        String routeId = TEMPLATE + "-" + run.id();
        if (context.getRoute(routeId) != null || run.finished().isDone()) {
            return; // a recovered run submitted again by its intake, or one that has already finished
        }
        TemplatedRouteBuilder.builder(context, TEMPLATE)
                .routeId(routeId)
                .parameter("runId", run.id())
                .parameter("jobs", Integer.toString(run.plan().jobs()))
                .add();
        // The lane's own consumer threads finish the run, so the route is stopped from another thread.
        run.onFinish(() -> {
            try {
                closer.execute(() -> close(routeId));
            } catch (java.util.concurrent.RejectedExecutionException stopping) {
                // drover is stopping: the context removes the lane
            }
        });
    }

    /** Stops removing lanes; called before the context stops, which removes whatever lanes are left. */
    public void shutdown() throws InterruptedException {
        closer.shutdown();
        closer.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
    }

    /** Under the same lock as {@link #open}: Camel's route registry is not safe for concurrent add and remove. */
    private synchronized void close(String routeId) {
        try {
            if (context.getStatus().isStarted()) {
                context.getRouteController().stopRoute(routeId);
                context.removeRoute(routeId);
            }
        } catch (Exception e) {
            LOG.warn("cannot remove lane {}: {}", routeId, e.getMessage());
        }
    }
}
