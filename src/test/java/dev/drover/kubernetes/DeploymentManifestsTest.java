package dev.drover.kubernetes;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docker/kubernetes/ holds what a platform team applies to run drover serve: the objects parse with the fabric8
 * model, refer to each other by the right names, and agree with the image and drover's configuration.
 * KubernetesRbacTest checks the Role against what the kubernetes strategy really asks of the API server.
 */
class DeploymentManifestsTest {

    static DeploymentManifests manifests;
    static Properties config = new Properties();

    @BeforeAll
    static void load() throws IOException {
        manifests = DeploymentManifests.load();
        try (Reader in = Files.newBufferedReader(Path.of("config", "application.properties"))) {
            config.load(in);
        }
    }

    private static Deployment deployment() {
        return manifests.one(Deployment.class, "drover");
    }

    private static Container container() {
        List<Container> containers = deployment().getSpec().getTemplate().getSpec().getContainers();
        assertEquals(1, containers.size());
        return containers.get(0);
    }

    @Test
    void kustomizationListsEveryManifest() throws IOException {
        JsonNode kustomization = new YAMLMapper().readTree(DeploymentManifests.DIR.resolve("kustomization.yaml").toFile());
        Set<String> listed = new TreeSet<>();
        kustomization.get("resources").forEach(r -> listed.add(r.asText()));
        Set<String> files;
        try (var list = Files.list(DeploymentManifests.DIR)) {
            files = list.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".yaml"))
                    .filter(n -> !n.equals("kustomization.yaml")).collect(Collectors.toCollection(TreeSet::new));
        }
        assertEquals(files, listed);
        assertEquals("drover", kustomization.at("/images/0/name").asText(), "the image the Deployment names");
        assertEquals("drover", container().getImage());
    }

    @Test
    void oneReplicaRecreatedNeverTwoPodsOnTheJournals() {
        assertEquals(1, deployment().getSpec().getReplicas());
        assertEquals("Recreate", deployment().getSpec().getStrategy().getType());
    }

    @Test
    void probesAskObserveHealthOnDroversPort() {
        int port = Integer.parseInt(config.getProperty("drover.observe.port"));
        assertEquals(port, container().getPorts().get(0).getContainerPort());
        String portName = container().getPorts().get(0).getName();
        for (Map.Entry<Probe, String> probe : Map.of(container().getLivenessProbe(), "/observe/health/live",
                container().getStartupProbe(), "/observe/health/live",
                container().getReadinessProbe(), "/observe/health/ready").entrySet()) {
            assertEquals(probe.getValue(), probe.getKey().getHttpGet().getPath());
            assertEquals(portName, probe.getKey().getHttpGet().getPort().getStrVal());
        }
        Service service = manifests.one(Service.class, "drover");
        assertEquals(portName, service.getSpec().getPorts().get(0).getTargetPort().getStrVal());
        Map<String, String> podLabels = deployment().getSpec().getTemplate().getMetadata().getLabels();
        assertTrue(podLabels.entrySet().containsAll(service.getSpec().getSelector().entrySet()));
        assertEquals(deployment().getSpec().getSelector().getMatchLabels(), service.getSpec().getSelector());
    }

    @Test
    void runsAsTheImagesUserWithTheRolesServiceAccount() throws IOException {
        PodSpec pod = deployment().getSpec().getTemplate().getSpec();
        String imageUser = Files.readAllLines(Path.of("docker", "Dockerfile")).stream()
                .filter(l -> l.startsWith("USER ")).findFirst().orElseThrow().substring(5).split(":")[0];
        assertEquals(Long.valueOf(imageUser), pod.getSecurityContext().getRunAsUser());
        assertEquals(Long.valueOf(imageUser), pod.getSecurityContext().getFsGroup(), "the volume is writable by it");
        assertTrue(pod.getSecurityContext().getRunAsNonRoot());
        ServiceAccount account = manifests.one(ServiceAccount.class, null);
        assertEquals(account.getMetadata().getName(), pod.getServiceAccountName());
        RoleBinding binding = manifests.one(RoleBinding.class, null);
        assertEquals(manifests.one(Role.class, null).getMetadata().getName(), binding.getRoleRef().getName());
        assertEquals("Role", binding.getRoleRef().getKind());
        assertEquals(1, binding.getSubjects().size());
        assertEquals("ServiceAccount", binding.getSubjects().get(0).getKind());
        assertEquals(account.getMetadata().getName(), binding.getSubjects().get(0).getName());
    }

    @Test
    void inboxAndRunsAreOnTheClaimWhereTheArgumentsPointDrover() {
        PodSpec pod = deployment().getSpec().getTemplate().getSpec();
        PersistentVolumeClaim claim = manifests.one(PersistentVolumeClaim.class, null);
        assertEquals(1, pod.getVolumes().size());
        assertEquals(claim.getMetadata().getName(), pod.getVolumes().get(0).getPersistentVolumeClaim().getClaimName());
        List<String> args = container().getArgs();
        Set<String> mounted = container().getVolumeMounts().stream().map(VolumeMount::getMountPath)
                .collect(Collectors.toSet());
        assertEquals(Set.of(args.get(args.indexOf("--inbox") + 1), args.get(args.indexOf("--runs-dir") + 1)), mounted);
    }

    @Test
    void configurationKeysAreDroversAndTheGraceOutlastsTheShutdownTimeout() {
        ConfigMap configMap = manifests.one(ConfigMap.class, null);
        assertEquals(configMap.getMetadata().getName(), container().getEnvFrom().get(0).getConfigMapRef().getName());
        Set<String> known = config.stringPropertyNames().stream()
                .map(k -> k.toUpperCase().replaceAll("[.-]", "_")).collect(Collectors.toSet());
        known.add("DROVER_LOG_LEVEL"); // read by the launcher's logging, not a property
        for (String key : configMap.getData().keySet()) {
            assertTrue(known.contains(key), key + " sets no key of config/application.properties");
        }
        int shutdown = Integer.parseInt(configMap.getData().getOrDefault("DROVER_SERVE_SHUTDOWN_TIMEOUT",
                config.getProperty("drover.serve.shutdown-timeout")));
        long grace = deployment().getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds();
        assertTrue(grace >= shutdown + 10, "grace " + grace + " s for a " + shutdown + " s shutdown timeout");
    }

    @Test
    void everyObjectIsNamespacedByKustomizeNotHardCoded() {
        for (HasMetadata o : manifests.all()) {
            assertEquals(null, o.getMetadata().getNamespace(), o.getKind() + " " + o.getMetadata().getName());
        }
    }
}
