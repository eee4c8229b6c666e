package dev.drover.kubernetes;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

import java.util.function.Supplier;

/**
 * The one KubernetesClient of a drover process, built on first use (a local run never pays for it): from
 * drover.kubernetes.master-url when set, else fabric8's auto-configuration (KUBECONFIG / ~/.kube/config with the
 * configured or current context, or the in-cluster service account). camel-kubernetes gets the same client as the
 * registry bean {@code kubernetesClient}. fabric8's own request retries are off: drover's retry policy
 * (drover.kubernetes.api-retries, 5xx/429/connection errors only) is the only one.
 */
public final class KubeClients implements Supplier<KubernetesClient>, AutoCloseable {

    private final KubeSettings settings;
    private volatile KubernetesClient client;

    public KubeClients(KubeSettings settings) {
        this.settings = settings;
    }

    /** For tests and embedders: a client made elsewhere. */
    public KubeClients(KubeSettings settings, KubernetesClient client) {
        this.settings = settings;
        this.client = client;
    }

    @Override
    public KubernetesClient get() {
        KubernetesClient c = client;
        if (c == null) {
            synchronized (this) {
                if (client == null) {
                    client = new KubernetesClientBuilder().withConfig(config()).build();
                }
                c = client;
            }
        }
        return c;
    }

    Config config() {
        Config config = settings.masterUrl() != null
                ? new ConfigBuilder(Config.empty()).withMasterUrl(settings.masterUrl()).withTrustCerts(true).build()
                : Config.autoConfigure(settings.context());
        if (settings.namespace() != null) {
            config.setNamespace(settings.namespace());
        }
        // drover retries what may pass (drover.kubernetes.api-retries); fabric8's own retries would multiply them.
        config.setRequestRetryBackoffLimit(0);
        return config;
    }

    /** Where Jobs go when --job-resources names no namespace: the configured one, the context's, else "default". */
    public String defaultNamespace() {
        String ns = get().getNamespace();
        return ns != null && !ns.isBlank() ? ns : "default";
    }

    @Override
    public synchronized void close() {
        if (client != null) {
            client.close();
            client = null;
        }
    }
}
