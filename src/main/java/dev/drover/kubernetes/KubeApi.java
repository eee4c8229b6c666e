package dev.drover.kubernetes;

import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

import java.util.function.Supplier;

/** How drover calls the Kubernetes API: which failures may pass and are retried, how they are told, Job deletion. */
final class KubeApi {

    private KubeApi() {
    }

    /**
     * Deletes a Job with an explicit Background propagation policy, so that its pods and ConfigMap go too (without a
     * policy the API server's default for batch/v1 Jobs orphans their pods); retried as {@link #retrying} says.
     */
    static void deleteJob(KubeSettings settings, KubernetesClient client, String namespace, String name) {
        retrying(settings, () -> client.batch().v1().jobs().inNamespace(namespace).withName(name)
                .withPropagationPolicy(DeletionPropagation.BACKGROUND).delete());
    }

    /** Runs an API call, retrying as drover.kubernetes.api-retries says when the failure may pass. */
    static <T> T retrying(KubeSettings settings, Supplier<T> call) {
        for (int attempt = 1; ; attempt++) {
            try {
                return call.get();
            } catch (RuntimeException e) {
                if (!isTransient(e) || attempt > settings.apiRetries()) {
                    throw e;
                }
                sleep(settings.apiRetryDelayMillis() << (attempt - 1));
            }
        }
    }

    /** 5xx, 429 (throttled) and connection failures may pass; 4xx answers do not. */
    static boolean isTransient(Throwable e) {
        KubernetesClientException k = clientException(e);
        if (k == null) {
            return false;
        }
        int code = k.getCode();
        return code >= 500 || code == 429 || code <= 0;
    }

    static KubernetesClientException clientException(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof KubernetesClientException k) {
                return k;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return null;
    }

    static String describe(Throwable e) {
        KubernetesClientException k = clientException(e);
        if (k != null && k.getStatus() != null && k.getStatus().getMessage() != null) {
            return k.getCode() + " " + (k.getStatus().getReason() != null ? k.getStatus().getReason() + ": " : "")
                    + k.getStatus().getMessage();
        }
        if (e == null) {
            return "unknown error";
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String text = (k != null && k.getCode() > 0 ? k.getCode() + " " : "") + e.getMessage();
        return root != e && root.getMessage() != null ? text + " (" + root.getClass().getSimpleName() + ": "
                + root.getMessage() + ")" : text;
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
