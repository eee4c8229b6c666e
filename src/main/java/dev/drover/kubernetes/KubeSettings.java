package dev.drover.kubernetes;

import org.apache.camel.CamelContext;

import java.util.Optional;

/**
 * The drover.kubernetes.* configuration (config/application.properties, or overrides from the command line).
 *
 * @param masterUrl  API server URL; null: kubeconfig (KUBECONFIG or ~/.kube/config) or the in-cluster service account
 * @param context    kubeconfig context; null: the current one
 * @param namespace  namespace when --job-resources gives none; null: the context's namespace, else "default"
 * @param ttlSeconds ttlSecondsAfterFinished of every Job (drover has saved the logs by then)
 * @param tasksPerJob most tasks in one Indexed Job
 * @param pollMillis time between two status queries of a run (one Job list and one Pod list)
 * @param apiRetries times a failed API call is retried when the failure may pass (5xx, 429, connection errors)
 * @param apiRetryDelayMillis first wait before such a retry; doubled every time
 * @param imagePullGraceSeconds how long a pod may wait in ErrImagePull, ImagePullBackOff, ErrImageNeverPull,
 *                   CreateContainerConfigError or CreateContainerError before drover deletes its Job and fails its
 *                   tasks (InvalidImageName fails at once); 0: at the first sight
 */
public record KubeSettings(String masterUrl, String context, String namespace, int ttlSeconds, int tasksPerJob,
                           long pollMillis, int apiRetries, long apiRetryDelayMillis, int imagePullGraceSeconds) {

    public static final String PREFIX = "drover.kubernetes.";

    public static KubeSettings defaults() {
        return new KubeSettings(null, null, null, 3600, 1000, 2000, 4, 500, 120);
    }

    public static KubeSettings from(CamelContext camel) {
        KubeSettings d = defaults();
        return new KubeSettings(text(camel, "master-url").orElse(null), text(camel, "context").orElse(null),
                text(camel, "namespace").orElse(null),
                text(camel, "ttl-seconds-after-finished").map(Integer::parseInt).orElse(d.ttlSeconds),
                text(camel, "tasks-per-job").map(Integer::parseInt).orElse(d.tasksPerJob),
                text(camel, "poll-interval").map(Long::parseLong).orElse(d.pollMillis),
                text(camel, "api-retries").map(Integer::parseInt).orElse(d.apiRetries),
                text(camel, "api-retry-delay").map(Long::parseLong).orElse(d.apiRetryDelayMillis),
                text(camel, "image-pull-grace").map(Integer::parseInt).orElse(d.imagePullGraceSeconds));
    }

    private static Optional<String> text(CamelContext camel, String key) {
        return camel.getPropertiesComponent().resolveProperty(PREFIX + key).map(String::trim).filter(s -> !s.isEmpty());
    }
}
