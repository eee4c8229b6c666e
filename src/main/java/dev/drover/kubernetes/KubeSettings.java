package dev.drover.kubernetes;

import dev.drover.run.Settings;

/**
 * The drover.kubernetes.* configuration, bound once (config/application.properties documents each setting and holds
 * its default; overrides come from the command line).
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

    /** Binds the settings; the optional ones (no line in the configuration) mean: as the kubeconfig says. */
    public static KubeSettings from(Settings p) {
        return new KubeSettings(p.optional(PREFIX + "master-url"),
                p.optional(PREFIX + "context"), p.optional(PREFIX + "namespace"),
                p.integer(PREFIX + "ttl-seconds-after-finished"), p.integer(PREFIX + "tasks-per-job"),
                p.millis(PREFIX + "poll-interval").toMillis(), p.integer(PREFIX + "api-retries"),
                p.millis(PREFIX + "api-retry-delay").toMillis(), p.integer(PREFIX + "image-pull-grace"));
    }
}
