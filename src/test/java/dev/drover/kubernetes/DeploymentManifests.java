package dev.drover.kubernetes;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The manifests under docker/kubernetes/, read with the fabric8 model (unknown fields fail: StrictModel). */
final class DeploymentManifests {

    static final Path DIR = Path.of("docker", "kubernetes");

    private final List<HasMetadata> objects = new ArrayList<>();

    private DeploymentManifests() {
    }

    static DeploymentManifests load() throws IOException {
        DeploymentManifests m = new DeploymentManifests();
        KubernetesSerialization serialization = new KubernetesSerialization();
        try (var files = Files.list(DIR)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                if (file.getFileName().toString().equals("kustomization.yaml")) {
                    continue;
                }
                try (InputStream in = Files.newInputStream(file)) {
                    Object parsed = serialization.unmarshal(in);
                    for (Object o : parsed instanceof List<?> list ? list : List.of(parsed)) {
                        StrictModel.assertNoUnknownFields(o);
                        m.objects.add((HasMetadata) o);
                    }
                }
            }
        }
        return m;
    }

    List<HasMetadata> all() {
        return objects;
    }

    /** The one object of this type (and name, when given). */
    <T extends HasMetadata> T one(Class<T> type, String name) {
        List<T> found = objects.stream().filter(type::isInstance).map(type::cast)
                .filter(o -> name == null || name.equals(o.getMetadata().getName())).toList();
        if (found.size() != 1) {
            throw new AssertionError("expected one " + type.getSimpleName() + (name == null ? "" : " " + name)
                    + " under " + DIR + ", found " + found.size());
        }
        return found.get(0);
    }
}
