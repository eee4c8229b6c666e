package dev.drover.kubernetes;

import dev.drover.TestPipeline;
import dev.drover.Await;
import dev.drover.camel.DroverRuntime;
import dev.drover.run.Run;
import dev.drover.run.RunState;
import dev.drover.run.TaskState;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static dev.drover.kubernetes.KubeTestSupport.NAMESPACE;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The Role of docker/kubernetes/rbac.yaml grants exactly what the kubernetes strategy uses: the whole pipeline runs
 * against the mock API server, which refuses (403, as RBAC would) every request of drover's that the Role does not
 * allow; runs that succeed, print logs, meet a Job name clash, are cancelled and meet a node that cannot pull must all
 * work, and every rule of the Role must have been used.
 */
class KubernetesRbacTest {

    /** What RBAC decides on: API group, resource (with subresource) and verb. */
    record Access(String group, String resource, String verb) implements Comparable<Access> {
        public int compareTo(Access o) {
            return toString().compareTo(o.toString());
        }
    }

    @TempDir
    Path tmp;

    @Test
    void theRoleAllowsEveryCallOfTheKubernetesStrategyAndNothingMore() throws Exception {
        Set<Access> granted = granted(DeploymentManifests.load().one(Role.class, null));
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        Rbac rbac = new Rbac(responses, granted);
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), responses, rbac, false);
        server.init();
        KubernetesClient kubeletClient = KubeTestSupport.kubeletClient(server);
        FakeKubelet kubelet = new FakeKubelet(server, kubeletClient, NAMESPACE, tmp.resolve("kubelet"));
        try (DroverRuntime runtime = DroverRuntime.start(Path.of("").toAbsolutePath(),
                KubeTestSupport.droverProperties(server, tmp.resolve("runs")))) {
            // a name clash first: drover reads the Job that holds the name, then creates under a new one
            server.expect().post().withPath("/apis/batch/v1/namespaces/" + NAMESPACE + "/jobs")
                    .andReturn(409, new StatusBuilder().withCode(409).withReason("AlreadyExists").build()).once();
            Run done = TestPipeline.submit(runtime, """
                    name: rbac-run
                    strategy: kubernetes
                    image: busybox:1.36
                    tasks: [{id: a, command: [echo, hello]}, {id: b, command: [sh, -c, 'exit 3']}]
                    """);
            assertEquals(RunState.FAILED, done.finished().get(30, TimeUnit.SECONDS), rbac.denied.toString());
            assertEquals(1, done.count(TaskState.SUCCEEDED), rbac.denied.toString());

            Run cancelled = TestPipeline.submit(runtime, """
                    name: rbac-cancel
                    strategy: kubernetes
                    image: busybox:1.36
                    tasks: [{command: [sleep, '30']}]
                    """);
            Await.until("its pod runs, so the cancel has a Job to delete", Duration.ofSeconds(10),
                    () -> cancelled.count(TaskState.RUNNING) == 1);
            cancelled.cancel();
            assertEquals(RunState.CANCELLED, cancelled.finished().get(30, TimeUnit.SECONDS));

            // one node cannot pull: drover deletes that pod alone, and the Job gives its index a new pod
            kubelet.badNode("drover-rbac-bad-node-", 1);
            Run badNode = TestPipeline.submit(runtime, """
                    name: rbac-bad-node
                    strategy: kubernetes
                    image: busybox:1.36
                    retries: 1
                    tasks: [{command: ['true']}, {command: ['true']}]
                    """);
            assertEquals(RunState.SUCCEEDED, badNode.finished().get(60, TimeUnit.SECONDS), rbac.denied.toString());
        } finally {
            kubelet.close();
            kubeletClient.close();
            server.destroy();
        }
        assertEquals(List.of(), rbac.denied, "requests the Role does not allow");
        assertEquals(granted, new TreeSet<>(rbac.used), "the Role grants exactly what drover uses");
    }

    static Set<Access> granted(Role role) {
        Set<Access> granted = new TreeSet<>();
        for (PolicyRule rule : role.getRules()) {
            for (String group : rule.getApiGroups()) {
                for (String resource : rule.getResources()) {
                    for (String verb : rule.getVerbs()) {
                        granted.add(new Access(group, resource, verb));
                    }
                }
            }
        }
        return granted;
    }

    /** The RBAC verb of a REST call, as the API server's authorizer names it. */
    static Access access(String method, String path) {
        String[] pathAndQuery = path.split("\\?", 2);
        boolean watch = pathAndQuery.length > 1 && Arrays.asList(pathAndQuery[1].split("&")).contains("watch=true");
        List<String> parts = List.of(pathAndQuery[0].substring(1).split("/"));
        // /api/v1/... (core group) or /apis/GROUP/VERSION/...
        String group = parts.get(0).equals("api") ? "" : parts.get(1);
        int i = parts.get(0).equals("api") ? 2 : 3;
        if (parts.size() > i + 2 && parts.get(i).equals("namespaces")) {
            i += 2;
        }
        String resource = parts.get(i);
        boolean named = parts.size() > i + 1;
        if (parts.size() > i + 2) {
            resource += "/" + parts.get(i + 2);
        }
        String verb = switch (method) {
            case "GET" -> watch ? "watch" : named ? "get" : "list";
            case "POST" -> "create";
            case "PUT" -> "update";
            case "PATCH" -> "patch";
            case "DELETE" -> named ? "delete" : "deletecollection";
            default -> method.toLowerCase();
        };
        return new Access(group, resource, verb);
    }

    /** The CRUD mock server's dispatcher behind an RBAC check of drover's requests (not the fake kubelet's). */
    static final class Rbac extends KubernetesMixedDispatcher {
        final Set<Access> granted;
        final Set<Access> used = new ConcurrentSkipListSet<>();
        final List<String> denied = new CopyOnWriteArrayList<>();

        Rbac(Map<ServerRequest, Queue<ServerResponse>> responses, Set<Access> granted) {
            super(responses);
            this.granted = granted;
        }

        @Override
        public MockResponse dispatch(RecordedRequest request) {
            if (!FakeKubelet.USER_AGENT.equals(request.getHeader("User-Agent"))) {
                Access access = access(request.getMethod(), request.getPath());
                used.add(access);
                if (!granted.contains(access)) {
                    denied.add(request.getMethod() + " " + request.getPath() + " = " + access);
                    return new MockResponse().setResponseCode(403).setBody(new KubernetesSerialization().asJson(
                            new StatusBuilder().withCode(403).withReason("Forbidden")
                                    .withMessage("the Role does not allow " + access).build()));
                }
            }
            return super.dispatch(request);
        }
    }
}
