package dev.drover.cluster;

import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.support.service.ServiceSupport;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.BooleanSupplier;

/**
 * The threads every cluster run is followed on (SLURM and Kubernetes alike): one small scheduled pool made by
 * Camel's ExecutorServiceManager when Camel starts this service, and shut down by Camel when it stops, so the
 * trackers show in Camel's thread-pool listing and no constructor starts a thread. Each run gets a {@link Poller};
 * a poller runs one cycle at a time, so a run's cycles never overlap, while a slow squeue or API answer of one run
 * does not hold up the others (up to {@link #THREADS} at once).
 */
public final class ClusterScheduler extends ServiceSupport {

    /** Cycles of different runs that may be under way at once (a cycle may wait on squeue or the API server). */
    static final int THREADS = 4;

    private final CamelContext context;
    private volatile ScheduledExecutorService executor;
    private volatile ProducerTemplate producer;

    public ClusterScheduler(CamelContext context) {
        this.context = context;
    }

    @Override
    protected void doStart() {
        executor = context.getExecutorServiceManager().newScheduledThreadPool(this, "drover-cluster-tracker", THREADS);
    }

    @Override
    protected void doStop() {
        ScheduledExecutorService running = executor;
        executor = null;
        if (running != null) {
            context.getExecutorServiceManager().shutdownNow(running);
        }
        ProducerTemplate made = producer;
        producer = null;
        if (made != null) {
            made.stop();
        }
    }

    /** The one template the lanes send their backend calls through (sbatch, Job create): made on first use. */
    public ProducerTemplate producer() {
        ProducerTemplate made = producer;
        if (made == null) {
            synchronized (this) {
                made = producer;
                if (made == null) {
                    made = context.createProducerTemplate();
                    producer = made;
                }
            }
        }
        return made;
    }

    /**
     * A poller that runs {@code cycle} after {@code initial}, then again after a delay that doubles up to {@code max}
     * while cycles report no progress and returns to {@code initial} when one does or the poller is woken.
     */
    public Poller poller(String name, BooleanSupplier cycle, Duration initial, Duration max) {
        ScheduledExecutorService running = executor;
        if (running == null) {
            throw new IllegalStateException("the cluster scheduler is not started (Camel starts it with the context)");
        }
        return new Poller(name, running, cycle, initial.toMillis(), max.toMillis());
    }
}
