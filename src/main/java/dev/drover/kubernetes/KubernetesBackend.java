package dev.drover.kubernetes;

import dev.drover.cluster.BackendId;
import dev.drover.cluster.ClusterBackend;
import dev.drover.cluster.ClusterScheduler;
import dev.drover.cluster.GroupSpec;
import dev.drover.kubernetes.KubeWatches.RunWatch;
import dev.drover.manifest.TaskSpec;
import dev.drover.manifest.JobResources;
import dev.drover.plan.Strategy;
import dev.drover.run.Run;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Kubernetes under the cluster lane ({@link dev.drover.cluster.ClusterLane}): a group is an Indexed Job of at most
 * {@code drover.kubernetes.tasks-per-job} tasks and one ConfigMap's worth, created suspended through the
 * {@code kubernetes-create-job} route (camel-kubernetes' kubernetes-job producer). A failed create is decided here
 * ({@link #createFailed}): the same name again after a wait for a 5xx, 429 or connection error, a new name after a
 * 409 (unless the existing Job is ours: then it is adopted), the API server's answer as the tasks' failure otherwise.
 * A committed Job is released: its ConfigMap, owned by the Job, then resumed; only then can it run a pod, so a
 * restart ({@link KubeReattach}) deletes every Job without a commit. {@link KubeTracker} follows a run's Jobs.
 */
public final class KubernetesBackend implements ClusterBackend<KubeJob>, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(KubernetesBackend.class);
    /** The route that makes one create call for the KubeJob in the body. */
    public static final String CREATE_ENDPOINT = "direct:kubernetes-create-job";
    /** The meter counting Kubernetes API calls by {@code call}: create-job, and the tracker's list-jobs, list-pods. */
    public static final String API_CALLS = "drover.kubernetes.api.calls";

    private final KubeClients clients;
    private final KubeSettings settings;
    private final KubeTracker tracker;
    private final ClusterScheduler scheduler;
    private final MeterRegistry meters;
    /** Set by {@link #close}: drover is stopping, not the run; what is not yet done is left to the next start. */
    private volatile boolean stopping;

    public KubernetesBackend(KubeClients clients, KubeSettings settings, ClusterScheduler scheduler,
                             MeterRegistry meters) {
        this.clients = clients;
        this.settings = settings;
        this.scheduler = scheduler;
        this.meters = meters;
        this.tracker = new KubeTracker(clients, settings, scheduler, meters);
    }

    public KubeSettings settings() {
        return settings;
    }

    KubeClients clients() {
        return clients;
    }

    KubeTracker tracker() {
        return tracker;
    }

    @Override
    public boolean runs(Strategy strategy) {
        return strategy == Strategy.KUBERNETES;
    }

    @Override
    public BackendId.Format ids() {
        return BackendId.Format.KUBERNETES;
    }

    @Override
    public int groupSize(Run run) {
        return run.plan().batchSize();
    }

    /** Jobs are named by {@link KubeNames} (unique per create), not numbered. */
    @Override
    public Supplier<String> keys(Run run) {
        return () -> null;
    }

    /** A run's namespace: --job-resources namespace, else drover.kubernetes.namespace, the context's, or default. */
    String namespace(Run run) {
        String ns = run.plan().resources().get(JobResources.NAMESPACE_KEY);
        return ns != null ? ns : clients.defaultNamespace();
    }

    /** The claimed tasks' attempts before this one: the DROVER_ATTEMPT of their first pod follows them. */
    private IndexedJobBuilder builder(Run run, String namespace) {
        return new IndexedJobBuilder(run.plan(), run.id(), namespace, settings.ttlSeconds(), true)
                .attemptsBefore(task -> Math.max(0, run.attempts(task) - 1));
    }

    /** Jobs of at most drover.kubernetes.tasks-per-job tasks and one ConfigMap's worth each, of the group's resources. */
    @Override
    public List<KubeJob> prepare(Run run, List<TaskSpec> tasks, GroupSpec spec, Supplier<String> keys) {
        return builder(run, namespace(run)).group(spec).jobs(tasks, settings.tasksPerJob());
    }

    @Override
    public String key(KubeJob job) {
        return job.name();
    }

    /** Job index i runs task i of the Job. */
    @Override
    public List<List<TaskSpec>> elements(KubeJob job) {
        return job.tasks().stream().map(List::of).toList();
    }

    /** The Job as created (or adopted), under the name it was finally created with. */
    record Created(KubeJob job, Job answer) {
    }

    /**
     * Creates the Job (suspended) through the {@value #CREATE_ENDPOINT} route, deciding after each failed call what
     * it means ({@link #createFailed}). A plain loop, not a route loop: the Job to create may change (a new name after
     * a clash), and a retry waits.
     */
    @Override
    public Submitted submit(Run run, KubeJob first, Consumer<String> rekey) {
        KubeJob job = first;
        for (int attempt = 1; ; attempt++) {
            KubeJob sent = job;
            meters.counter(API_CALLS, "call", "create-job").increment();
            Exchange answer = scheduler.producer().send(CREATE_ENDPOINT, exchange -> exchange.getIn().setBody(sent));
            AfterFailure next = answer.getException() == null
                    ? new AfterFailure(null, answer.getMessage().getBody(Job.class), null)
                    : createFailed(run, job, answer.getException(), attempt);
            if (next.adopted() != null || answer.getException() == null) {
                Job created = next.adopted();
                String uid = created != null && created.getMetadata() != null ? created.getMetadata().getUid() : null;
                // The API server always sets a uid; should the answer lack one, the name still commits the Job.
                return Submitted.ok(uid != null ? uid : job.name(), new Created(job, created));
            }
            if (next.retry() == null) {
                return next.failure() == null ? Submitted.NONE : Submitted.failed(next.failure(), false);
            }
            if (!next.retry().name().equals(job.name())) {
                rekey.accept(next.retry().name());
            }
            job = next.retry();
        }
    }

    /** What follows a failed create: the Job to create next, the existing Job that is ours, or the failure. */
    record AfterFailure(KubeJob retry, Job adopted, String failure) {
        static final AfterFailure STOP = new AfterFailure(null, null, null);
    }

    /**
     * A failed create: retry the same name after a wait for a 5xx, 429 or connection error; after a 409, adopt the
     * existing Job if it is ours (an earlier create whose answer was lost), else retry under a new name; for any
     * other answer (403, 422, ...) the Job's tasks fail with the API server's message.
     */
    AfterFailure createFailed(Run run, KubeJob job, Exception e, int attempt) {
        KubernetesClientException k = KubeApi.clientException(e);
        int code = k != null ? k.getCode() : -1;
        if (stopping || run.isCancelled()) {
            return AfterFailure.STOP; // the tasks are left as they are: the cancel or the next start sees to them
        }
        if (code == 409 && attempt <= settings.apiRetries()) {
            Job existing = null;
            try {
                existing = KubeApi.retrying(settings, () -> clients.get().batch().v1().jobs()
                        .inNamespace(job.namespace()).withName(job.name()).get());
            } catch (RuntimeException ignored) {
                // treated as someone else's Job: a new name cannot hurt
            }
            if (existing != null && existing.getMetadata().getAnnotations() != null && job.token()
                    .equals(existing.getMetadata().getAnnotations().get(IndexedJobBuilder.ANNOTATION_TOKEN))) {
                LOG.info("Job {} exists and is ours (an earlier create whose answer was lost): using it", job.name());
                return new AfterFailure(null, existing, null);
            }
            KubeJob renamed = builder(run, job.namespace()).group(job.group()).build(job.tasks());
            LOG.warn("Job name {} is taken in namespace {}: retrying as {}", job.name(), job.namespace(),
                    renamed.name());
            return new AfterFailure(renamed, null, null);
        }
        if (KubeApi.isTransient(e) && attempt <= settings.apiRetries()) {
            long delay = settings.apiRetryDelayMillis() << (attempt - 1);
            LOG.warn("creating Job {} failed ({}), retry {} of {} in {} ms", job.name(), KubeApi.describe(e), attempt,
                    settings.apiRetries(), delay);
            KubeApi.sleep(delay);
            return new AfterFailure(job, null, null);
        }
        return new AfterFailure(null, null, "Kubernetes did not create Job " + job.name() + " in namespace "
                + job.namespace() + " at " + clients.get().getMasterUrl() + ": " + KubeApi.describe(e));
    }

    /** The Job is committed: its ConfigMap, owned by the Job so that both go together; then resume it. */
    @Override
    public String release(Run run, KubeJob group, Submitted submitted) {
        Created created = (Created) submitted.created();
        KubeJob job = created.job();
        KubernetesClient client = clients.get();
        try {
            ConfigMapBuilder configMap = new ConfigMapBuilder(job.configMap());
            Job answer = created.answer();
            if (answer != null && answer.getMetadata() != null && answer.getMetadata().getUid() != null) {
                configMap.editMetadata().withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("batch/v1")
                        .withKind("Job").withName(job.name()).withUid(answer.getMetadata().getUid())
                        .withBlockOwnerDeletion(false).withController(false).build()).endMetadata();
            }
            ConfigMap table = configMap.build();
            KubeApi.retrying(settings, () -> client.configMaps().inNamespace(job.namespace()).resource(table).create());
            KubeApi.retrying(settings, () -> client.batch().v1().jobs().inNamespace(job.namespace())
                    .withName(job.name()).patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"suspend\":false}}"));
        } catch (RuntimeException e) {
            if (stopping) {
                LOG.info("Job {} may be left suspended as drover stops: the next start sees to it", job.name());
                return null;
            }
            deleteQuietly(job.namespace(), job.name());
            return "cannot start Job " + job.name() + " (its task table or resume failed): " + KubeApi.describe(e);
        }
        return null;
    }

    /** A Job's tasks are {@code <name>/<index>}. */
    @Override
    public String heldJob(String key, String jobId) {
        return key;
    }

    @Override
    public Tracking<KubeJob> track(Run run, Settler settler) {
        String namespace = namespace(run);
        RunWatch watch = tracker.watch(run, namespace, settler);
        return new Tracking<>() {
            @Override
            public void follow(KubeJob group, Submitted submitted) {
                tracker.track(watch, ((Created) submitted.created()).job());
            }

            @Override
            public void cancel() {
                tracker.cancel(watch);
            }

            @Override
            public void stop() {
                watch.poller.stop();
            }
        };
    }

    @Override
    public Reattach reattach(Run run, Tracking<KubeJob> tracking) {
        return new KubeReattach(run, namespace(run), this);
    }

    void deleteQuietly(String namespace, String name) {
        try {
            KubeApi.deleteJob(settings, clients.get(), namespace, name);
        } catch (RuntimeException e) {
            LOG.warn("cannot delete Job {}: {}", name, e.getMessage());
        }
    }

    @Override
    public void close() {
        stopping = true;
        tracker.close();
        clients.close();
    }
}
