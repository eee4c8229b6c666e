package dev.drover.camel;

import dev.drover.cluster.ClusterMeters;
import dev.drover.run.Settings;
import dev.drover.cluster.ClusterLane;
import dev.drover.cluster.ClusterLanes;
import dev.drover.cluster.ClusterScheduler;
import dev.drover.cluster.Settlement;
import dev.drover.kubernetes.KubeClients;
import dev.drover.kubernetes.KubernetesBackend;
import dev.drover.kubernetes.KubeSettings;
import dev.drover.local.LocalLanes;
import dev.drover.local.LocalTaskRunner;
import dev.drover.plan.Planner;
import dev.drover.report.HtmlReports;
import dev.drover.run.RunRegistry;
import dev.drover.serve.ServeBeans;
import dev.drover.run.Settings;
import dev.drover.slurm.SlurmBackend;
import dev.drover.slurm.SlurmSettings;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.Registry;

/** The beans the routes call, by the names used in routes/*.camel.yaml. */
public final class DroverConfiguration implements CamelConfiguration {

    @Override
    public void configure(CamelContext context) {
        Settings settings = Settings.of(context);
        RunRegistry runs = new RunRegistry(settings.runsDir());
        // journal syncs and cancel requests on Camel-managed threads (two: a cancel that writes a large report must not
        // hold up the syncs), shut down with the context
        runs.start(context.getExecutorServiceManager().newScheduledThreadPool(runs, "run-registry", 2));
        Registry registry = context.getRegistry();
        registry.bind("runs", runs);
        registry.bind("planner", Planner.forInstalledLanes(settings.manifestMaxBytes()));
        registry.bind("localRunner", new LocalTaskRunner(runs, settings.seconds("drover.local.kill-grace"),
                settings.optional("drover.local.launcher")));
        registry.bind("localLanes", new LocalLanes(context));
        ClusterScheduler clusterScheduler = new ClusterScheduler(context);
        addService(context, clusterScheduler); // its threads start and stop with Camel
        Settings clusterProperties = Settings.of(context);
        MeterRegistry clusterMeters = ClusterMeters.bind(context);
        Settlement settlement = new Settlement(clusterProperties.integer("drover.cluster.node-failure-reruns"));
        ClusterLane<?> slurmLane = new ClusterLane<>(context, runs,
                new SlurmBackend(SlurmSettings.from(clusterProperties), clusterScheduler, clusterMeters), settlement);
        registry.bind("slurmLane", slurmLane);
        ServeBeans.bind(context, runs);
        KubeSettings kubeSettings = KubeSettings.from(clusterProperties);
        KubeClients kubeClients = new KubeClients(kubeSettings);
        registry.bind("kubernetesClient", KubernetesClient.class, kubeClients::get); // built on first use
        ClusterLane<?> kubeLane = new ClusterLane<>(context, runs,
                new KubernetesBackend(kubeClients, kubeSettings, clusterScheduler, clusterMeters), settlement);
        registry.bind("kubeLane", kubeLane);
        registry.bind("clusterLanes", new ClusterLanes(runs, java.util.List.of(slurmLane, kubeLane)));
        HtmlReports.attach(context, runs);
    }

    private static void addService(CamelContext context, Object service) {
        try {
            context.addService(service, true, true);
        } catch (Exception e) {
            throw new org.apache.camel.RuntimeCamelException(e);
        }
    }
}
