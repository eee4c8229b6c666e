package dev.drover.kubernetes;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;

final class KubeTestSupport {

    static final String NAMESPACE = "test";

    private KubeTestSupport() {
    }

    /** The fabric8 mock API server in CRUD mode, where expectations (checked first) can also be set. */
    static KubernetesMockServer crudServer() {
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), responses,
                new KubernetesMixedDispatcher(responses), false);
        server.init();
        return server;
    }

    /** The kubelet's own client, known by its User-Agent, so that drover's requests can be told apart. */
    static KubernetesClient kubeletClient(KubernetesMockServer server) {
        return new KubernetesClientBuilder().withConfig(new ConfigBuilder(Config.empty())
                .withMasterUrl(server.url("/")).withUserAgent(FakeKubelet.USER_AGENT).build()).build();
    }

    /** drover's settings against the mock server: fast polls and API retries, a one-second image-pull grace. */
    static Map<String, String> droverProperties(KubernetesMockServer server, Path runsDir) {
        return Map.of(
                "drover.runs-dir", runsDir.toString(),
                "drover.kubernetes.master-url", server.url("/"),
                "drover.kubernetes.namespace", NAMESPACE,
                "drover.kubernetes.poll-interval", "50",
                "drover.kubernetes.api-retry-delay", "10",
                "drover.kubernetes.api-retries", "2",
                "drover.kubernetes.image-pull-grace", "1");
    }

    static JsonNode report(Path runDir) throws IOException {
        return JsonMapper.builder().build().readTree(runDir.resolve("report.json").toFile());
    }

    static JsonNode task(JsonNode report, String id) {
        for (JsonNode t : report.get("tasks")) {
            if (t.get("id").asText().equals(id)) {
                return t;
            }
        }
        throw new AssertionError("no task " + id + " in " + report);
    }
}
