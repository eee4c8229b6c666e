package dev.drover.kubernetes;

import dev.drover.cluster.BackendId;
import dev.drover.cluster.GroupSpec;
import dev.drover.manifest.TaskSpec;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobSpec;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One Indexed Job to create: what the route hands to camel-kubernetes (namespace, name, labels, annotations, spec)
 * and the ConfigMap with its task table. Index {@code i} of the Job runs {@code tasks.get(i)}.
 *
 * @param group the resources its pods run with and the nodes they avoid (a renamed Job keeps them)
 * @param token a random value in the Job's annotations: a 409 on create is our own Job (an earlier attempt whose
 *              answer was lost) exactly when the existing Job carries it
 */
public record KubeJob(String runId, String namespace, String name, Map<String, String> labels,
                      HashMap<String, String> annotations, JobSpec spec, ConfigMap configMap, List<TaskSpec> tasks,
                      GroupSpec group, String token) {

    public int size() {
        return tasks.size();
    }

    /** The Job object as the kubernetes-job producer builds it from the headers. */
    public Job job() {
        return new JobBuilder().withNewMetadata().withName(name).withNamespace(namespace).withLabels(labels)
                .withAnnotations(annotations).endMetadata().withSpec(spec).build();
    }

    /** The backend id of the task at a Job index. */
    public String backendId(int index) {
        return BackendId.Format.KUBERNETES.format(name, index);
    }
}
