package dev.drover.kubernetes;

import dev.drover.manifest.TaskSpec;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.TaskBatch;
import dev.drover.run.TaskState;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The Java side of routes/lane-kubernetes.camel.yaml. The route creates each Indexed Job through camel-kubernetes'
 * {@code kubernetes-job} producer; this bean cuts batches into Jobs ({@link #prepare}), decides what a failed create
 * means ({@link #createFailed}: retry on 5xx/429/connection errors, a new name on a 409 name clash, adopt the Job if
 * the clash is our own earlier attempt, fail the chunk's tasks with the API's answer otherwise), and completes a
 * created Job ({@link #created}: its ConfigMap owned by the Job, then un-suspend it, then follow it).
 */
public final class KubeLane implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(KubeLane.class);
    /** Exchange properties used by the route. */
    public static final String JOB = "DroverKubeJob";
    public static final String DONE = "DroverKubeDone";
    public static final String FAILED = "DroverKubeFailed";
    public static final String ATTEMPT = "DroverKubeAttempt";

    private final RunRegistry runs;
    private final KubeClients clients;
    private final KubeSettings settings;
    private final KubeTracker tracker;

    public KubeLane(RunRegistry runs, KubeClients clients, KubeSettings settings) {
        this.runs = runs;
        this.clients = clients;
        this.settings = settings;
        this.tracker = new KubeTracker(clients, settings);
    }

    public KubeSettings settings() {
        return settings;
    }

    /** A run's namespace: --job-resources namespace, else drover.kubernetes.namespace, the context's, or default. */
    String namespace(Run run) {
        String ns = run.plan().resources().get(dev.drover.plan.JobResources.NAMESPACE_KEY);
        return ns != null ? ns : clients.defaultNamespace();
    }

    /** The Jobs for one batch: at most drover.kubernetes.tasks-per-job tasks and one ConfigMap's worth each. */
    public List<KubeJob> prepare(TaskBatch batch) {
        Run run = runs.get(batch.runId());
        if (run.isCancelled()) {
            return List.of();
        }
        String namespace = namespace(run);
        tracker.watch(run, namespace);
        IndexedJobBuilder builder = new IndexedJobBuilder(run.plan(), run.id(), namespace, settings.ttlSeconds(), true);
        List<KubeJob> jobs = new ArrayList<>();
        List<TaskSpec> tasks = batch.tasks();
        for (int from = 0; from < tasks.size(); from += settings.tasksPerJob()) {
            cut(builder, tasks.subList(from, Math.min(tasks.size(), from + settings.tasksPerJob())), jobs);
        }
        return jobs;
    }

    private static void cut(IndexedJobBuilder builder, List<TaskSpec> tasks, List<KubeJob> out) {
        KubeJob job = builder.build(tasks);
        if (tasks.size() > 1 && IndexedJobBuilder.tableBytes(job) > IndexedJobBuilder.MAX_TABLE_BYTES) {
            cut(builder, tasks.subList(0, tasks.size() / 2), out);
            cut(builder, tasks.subList(tasks.size() / 2, tasks.size()), out);
        } else {
            out.add(job);
        }
    }

    /** Called by the route when the kubernetes-job producer failed; leaves the loop to retry or settles the chunk. */
    public void createFailed(Exchange exchange) {
        Exception e = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class);
        KubeJob job = exchange.getProperty(JOB, KubeJob.class);
        int attempt = exchange.getProperty(ATTEMPT, 0, Integer.class) + 1;
        exchange.setProperty(ATTEMPT, attempt);
        KubernetesClientException k = clientException(e);
        int code = k != null ? k.getCode() : -1;
        if (code == 409 && attempt <= settings.apiRetries()) {
            Job existing = null;
            try {
                existing = retrying(settings, () -> clients.get().batch().v1().jobs().inNamespace(job.namespace())
                        .withName(job.name()).get());
            } catch (RuntimeException ignored) {
                // treated as someone else's Job: a new name cannot hurt
            }
            if (existing != null && existing.getMetadata().getAnnotations() != null && job.token()
                    .equals(existing.getMetadata().getAnnotations().get(IndexedJobBuilder.ANNOTATION_TOKEN))) {
                LOG.info("Job {} exists and is ours (an earlier create whose answer was lost): using it", job.name());
                exchange.getIn().setBody(existing);
                exchange.setProperty(DONE, true);
                return;
            }
            Run run = runs.get(job.runId());
            KubeJob renamed = new IndexedJobBuilder(run.plan(), run.id(), job.namespace(), settings.ttlSeconds(), true)
                    .build(job.tasks());
            LOG.warn("Job name {} is taken in namespace {}: retrying as {}", job.name(), job.namespace(), renamed.name());
            exchange.setProperty(JOB, renamed);
            return;
        }
        if (isTransient(e) && attempt <= settings.apiRetries()) {
            long delay = settings.apiRetryDelayMillis() << (attempt - 1);
            LOG.warn("creating Job {} failed ({}), retry {} of {} in {} ms", job.name(), describe(e), attempt,
                    settings.apiRetries(), delay);
            sleep(delay);
            return;
        }
        String reason = "Kubernetes did not create Job " + job.name() + " in namespace " + job.namespace() + " at "
                + clients.get().getMasterUrl() + ": " + describe(e);
        LOG.error(reason);
        fail(job, reason);
        exchange.setProperty(DONE, true);
        exchange.setProperty(FAILED, true);
    }

    /** After the Job exists (suspended): its ConfigMap, owned by the Job so that both go together; then resume it. */
    public void created(Exchange exchange) {
        if (exchange.getProperty(FAILED, false, Boolean.class)) {
            return;
        }
        KubeJob job = exchange.getProperty(JOB, KubeJob.class);
        Job created = exchange.getIn().getBody(Job.class);
        Run run = runs.get(job.runId());
        KubernetesClient client = clients.get();
        try {
            ConfigMapBuilder configMap = new ConfigMapBuilder(job.configMap());
            if (created != null && created.getMetadata() != null && created.getMetadata().getUid() != null) {
                configMap.editMetadata().withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("batch/v1")
                        .withKind("Job").withName(job.name()).withUid(created.getMetadata().getUid())
                        .withBlockOwnerDeletion(false).withController(false).build()).endMetadata();
            }
            ConfigMap table = configMap.build();
            retrying(settings, () -> client.configMaps().inNamespace(job.namespace()).resource(table).create());
            retrying(settings, () -> client.batch().v1().jobs().inNamespace(job.namespace()).withName(job.name())
                    .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"suspend\":false}}"));
        } catch (RuntimeException e) {
            String reason = "cannot start Job " + job.name() + " (its task table or resume failed): " + describe(e);
            LOG.error(reason);
            deleteQuietly(client, job);
            fail(job, reason);
            return;
        }
        LOG.info("run {}: Job {}/{} created with {} tasks", run.id(), job.namespace(), job.name(), job.size());
        tracker.track(run, job.namespace(), job);
        if (run.isCancelled()) {
            // cancelled while this Job was being created: the cancel handler may have missed it
            deleteQuietly(client, job);
            tracker.cancel(tracker.watch(run, job.namespace()));
        }
    }

    private void fail(KubeJob job, String reason) {
        Run run = runs.get(job.runId());
        for (int i = 0; i < job.size(); i++) {
            run.taskFinished(job.tasks().get(i).index(), 0, TaskState.FAILED, Integer.MIN_VALUE, reason);
        }
    }

    private void deleteQuietly(KubernetesClient client, KubeJob job) {
        try {
            client.batch().v1().jobs().inNamespace(job.namespace()).withName(job.name())
                    .withPropagationPolicy(DeletionPropagation.BACKGROUND).delete();
        } catch (RuntimeException e) {
            LOG.warn("cannot delete Job {}: {}", job.name(), e.getMessage());
        }
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

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        tracker.close();
        clients.close();
    }
}
