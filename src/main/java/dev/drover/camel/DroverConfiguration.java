package dev.drover.camel;

import dev.drover.kubernetes.KubeClients;
import dev.drover.kubernetes.KubeLane;
import dev.drover.kubernetes.KubeSettings;
import dev.drover.local.LocalLanes;
import dev.drover.local.LocalTaskRunner;
import dev.drover.manifest.ManifestParser;
import dev.drover.plan.Planner;
import dev.drover.report.HtmlReports;
import dev.drover.run.RunRegistry;
import dev.drover.serve.ServeBeans;
import dev.drover.slurm.SlurmLane;
import dev.drover.slurm.SlurmSettings;
import io.fabric8.kubernetes.client.KubernetesClient;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.Registry;

import java.nio.file.Path;

/** The beans the routes call, by the names used in routes/*.camel.yaml. */
public final class DroverConfiguration implements CamelConfiguration {

    @Override
    public void configure(CamelContext context) {
        Path runsDir = Path.of(context.resolvePropertyPlaceholders("{{drover.runs-dir}}")).toAbsolutePath();
        RunRegistry runs = new RunRegistry(runsDir);
        Registry registry = context.getRegistry();
        registry.bind("runs", runs);
        registry.bind("planner", Planner.forInstalledLanes(
                ManifestParser.maxBytes(context.getPropertiesComponent().resolveProperty(ManifestParser.MAX_BYTES_KEY)
                        .orElse(null))));
        registry.bind("localRunner", new LocalTaskRunner(runs, java.time.Duration.ofMillis(Math.round(1000
                * Double.parseDouble(context.resolvePropertyPlaceholders("{{drover.local.kill-grace}}"))))));
        registry.bind("localLanes", new LocalLanes(context));
        registry.bind("slurmLane", new SlurmLane(context, runs, SlurmSettings.from(context)));
        ServeBeans.bind(context, runs);
        KubeClients kubeClients = new KubeClients(KubeSettings.from(context));
        registry.bind("kubernetesClient", KubernetesClient.class, kubeClients::get); // built on first use
        registry.bind("kubeLane", new KubeLane(runs, kubeClients, KubeSettings.from(context)));
        HtmlReports.attach(context, runs);
    }
}
