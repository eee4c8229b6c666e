package dev.drover.cluster;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.RuntimeCamelException;
import org.apache.camel.StartupListener;

/**
 * The Micrometer registry the cluster lanes count their scheduler calls in (sbatch, squeue, scontrol, sacct,
 * scancel; Kubernetes API calls): always readable (a simple registry inside, which tests read), and joined to the
 * registry camel-micrometer-prometheus serves on /observe/metrics once Camel has made it, so the calls per minute
 * a cluster's admins ration are visible in production too.
 */
public final class ClusterMeters {

    /** The name the holder is bound under (not the registry itself: Camel's metrics would autowire that). */
    public static final String BEAN = "clusterMeters";
    /** The name under which camel-micrometer-prometheus binds the registry it serves. */
    private static final String SERVED = "metricsRegistry";

    private final MeterRegistry registry;

    private ClusterMeters(MeterRegistry registry) {
        this.registry = registry;
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** A new registry for the lanes of this context; joins the served one when the context has fully started. */
    public static MeterRegistry bind(CamelContext context) {
        CompositeMeterRegistry meters = new CompositeMeterRegistry();
        meters.add(new SimpleMeterRegistry());
        context.getRegistry().bind(BEAN, new ClusterMeters(meters));
        try {
            context.addStartupListener(new StartupListener() {
                @Override
                public void onCamelContextStarted(CamelContext started, boolean alreadyStarted) {
                }

                @Override
                public void onCamelContextFullyStarted(CamelContext started, boolean alreadyStarted) {
                    MeterRegistry served = started.getRegistry().lookupByNameAndType(SERVED, MeterRegistry.class);
                    if (served != null && served != meters) {
                        meters.add(served);
                    }
                }
            });
        } catch (Exception e) {
            throw new RuntimeCamelException(e);
        }
        return meters;
    }
}
