package dev.drover.kubernetes;

import dev.drover.camel.DroverRuntime;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A cluster for a whole-pipeline test: the mock API server in CRUD mode, a client of it, {@link FakeKubelet} running
 * its pods as local processes, and a drover runtime pointed at it. Closed in the reverse order.
 */
final class KubeCluster implements AutoCloseable {

    final KubernetesMockServer server = KubeTestSupport.crudServer();
    final KubernetesClient client = server.createClient();
    private final KubernetesClient kubeletClient = KubeTestSupport.kubeletClient(server);
    final FakeKubelet kubelet;
    final DroverRuntime runtime;

    /** secondMillis: how long a pod's second lasts (deadlines keep their proportions); extra: drover settings. */
    KubeCluster(Path dir, long secondMillis, Map<String, String> extra) throws Exception {
        kubelet = new FakeKubelet(server, kubeletClient, KubeTestSupport.NAMESPACE, dir.resolve("kubelet"));
        kubelet.secondMillis = secondMillis;
        Map<String, String> properties = new HashMap<>(KubeTestSupport.droverProperties(server, dir.resolve("runs")));
        properties.putAll(extra);
        runtime = DroverRuntime.start(Path.of("").toAbsolutePath(), properties);
    }

    @Override
    public void close() throws Exception {
        runtime.close();
        kubelet.close();
        kubeletClient.close();
        client.close();
        server.destroy();
    }
}
