package dev.drover.kubernetes;

import dev.drover.cluster.BackendId;
import dev.drover.cluster.ClusterScheduler;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.Strategy;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.TaskBatch;
import dev.drover.run.TaskState;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

import static dev.drover.cluster.BackendId.Format.KUBERNETES;

/**
 * The Java side of routes/lane-kubernetes.camel.yaml. The route creates each Indexed Job through camel-kubernetes'
 * {@code kubernetes-job} producer; this bean cuts batches into Jobs ({@link #prepare}), decides what a failed create
 * means ({@link #createFailed}: retry on 5xx/429/connection errors, a new name on a 409 name clash, adopt the Job if
 * the clash is our own earlier attempt, fail the chunk's tasks with the API's answer otherwise), and completes a
 * created Job ({@link #created}: its ConfigMap owned by the Job, then un-suspend it, then follow it).
 *
 * <p>The journal learns of a Job in three steps, so that a restarted drover ({@link #reattach}) knows what each Job
 * may have run: its name before the create ({@code submission(name, null)}); once it exists, still suspended, each
 * of its tasks starting an attempt under its backend id, then its uid ({@code submission(name, uid)}); only then is
 * it resumed. So only a Job whose uid the journal has can have run a pod; a restart deletes the others.
 */
public final class KubeLane implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(KubeLane.class);
    /** The route that makes one create call for the KubeJob in the body. */
    public static final String CREATE_ENDPOINT = "direct:kubernetes-create-job";
    /** The meter counting Kubernetes API calls by {@code call}: create-job, and the tracker's list-jobs, list-pods. */
    public static final String API_CALLS = "drover.kubernetes.api.calls";

    private final RunRegistry runs;
    private final KubeClients clients;
    private final KubeSettings settings;
    private final KubeTracker tracker;
    private final ClusterScheduler scheduler;
    private final MeterRegistry meters;
    /** Set by {@link #close}: drover is stopping, not the run; what is not yet done is left to the next start. */
    private volatile boolean stopping;

    public KubeLane(RunRegistry runs, KubeClients clients, KubeSettings settings,
                    ClusterScheduler scheduler, MeterRegistry meters) {
        this.scheduler = scheduler;
        this.meters = meters;
        this.runs = runs;
        this.clients = clients;
        this.settings = settings;
        this.tracker = new KubeTracker(clients, settings, scheduler, meters);
        runs.onRecovered(this::reattach);
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
        Run run = runs.find(batch.runId());
        if (run == null || run.isCancelled() || stopping) {
            return List.of(); // the run has finished (cancelled) meanwhile, or the next start creates these Jobs
        }
        String namespace = namespace(run);
        tracker.watch(run, namespace);
        IndexedJobBuilder builder = new IndexedJobBuilder(run.plan(), run.id(), namespace, settings.ttlSeconds(), true)
                .attemptsBefore(run::attempts);
        List<KubeJob> jobs = new ArrayList<>();
        List<TaskSpec> tasks = batch.tasks();
        for (int from = 0; from < tasks.size(); from += settings.tasksPerJob()) {
            cut(builder, tasks.subList(from, Math.min(tasks.size(), from + settings.tasksPerJob())), jobs);
        }
        jobs.forEach(job -> run.submission(job.name(), null));
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

    /**
     * Route entry, for each Job of a batch: creates it through the {@value #CREATE_ENDPOINT} route (one call of
     * camel-kubernetes' kubernetes-job producer), deciding after each failed call what it means
     * ({@link #createFailed}), then starts the created Job ({@link #created}). A plain loop, not a route loop: the
     * Job to create may change (a new name after a clash), and a retry waits.
     */
    public void create(KubeJob first) {
        KubeJob job = first;
        for (int attempt = 1; ; attempt++) {
            KubeJob sent = job;
            meters.counter(API_CALLS, "call", "create-job").increment();
            Exchange answer = scheduler.producer().send(CREATE_ENDPOINT, exchange -> exchange.getIn().setBody(sent));
            if (answer.getException() == null) {
                created(job, answer.getMessage().getBody(Job.class));
                return;
            }
            AfterFailure next = createFailed(job, answer.getException(), attempt);
            if (next.adopted() != null) {
                created(job, next.adopted());
                return;
            }
            if (next.retry() == null) {
                return;
            }
            job = next.retry();
        }
    }

    /** What follows a failed create: the Job to create next (retry), the existing Job that is ours, or neither. */
    record AfterFailure(KubeJob retry, Job adopted) {
        static final AfterFailure STOP = new AfterFailure(null, null);
    }

    /**
     * A failed create: retry the same name after a wait for a 5xx, 429 or connection error; after a 409, adopt the
     * existing Job if it is ours (an earlier create whose answer was lost), else retry under a new name; for any
     * other answer (403, 422, ...) fail the Job's tasks with the API server's message.
     */
    AfterFailure createFailed(KubeJob job, Exception e, int attempt) {
        KubernetesClientException k = KubeApi.clientException(e);
        int code = k != null ? k.getCode() : -1;
        Run run = runs.find(job.runId());
        if (run == null || stopping) {
            // the run has ended meanwhile, or drover is stopping: the chunk's tasks are left as they are (pending
            // ones run at the next start)
            return AfterFailure.STOP;
        }
        if (code == 409 && attempt <= settings.apiRetries()) {
            Job existing = null;
            try {
                existing = KubeApi.retrying(settings, () -> clients.get().batch().v1().jobs().inNamespace(job.namespace())
                        .withName(job.name()).get());
            } catch (RuntimeException ignored) {
                // treated as someone else's Job: a new name cannot hurt
            }
            if (existing != null && existing.getMetadata().getAnnotations() != null && job.token()
                    .equals(existing.getMetadata().getAnnotations().get(IndexedJobBuilder.ANNOTATION_TOKEN))) {
                LOG.info("Job {} exists and is ours (an earlier create whose answer was lost): using it", job.name());
                return new AfterFailure(null, existing);
            }
            KubeJob renamed = new IndexedJobBuilder(run.plan(), run.id(), job.namespace(), settings.ttlSeconds(), true)
                    .attemptsBefore(run::attempts).build(job.tasks());
            LOG.warn("Job name {} is taken in namespace {}: retrying as {}", job.name(), job.namespace(), renamed.name());
            run.submission(renamed.name(), null);
            return new AfterFailure(renamed, null);
        }
        if (KubeApi.isTransient(e) && attempt <= settings.apiRetries()) {
            long delay = settings.apiRetryDelayMillis() << (attempt - 1);
            LOG.warn("creating Job {} failed ({}), retry {} of {} in {} ms", job.name(), KubeApi.describe(e), attempt,
                    settings.apiRetries(), delay);
            KubeApi.sleep(delay);
            return new AfterFailure(job, null);
        }
        String reason = "Kubernetes did not create Job " + job.name() + " in namespace " + job.namespace() + " at "
                + clients.get().getMasterUrl() + ": " + KubeApi.describe(e);
        LOG.error(reason);
        fail(run, job, reason);
        return AfterFailure.STOP;
    }

    /** After the Job exists (suspended): its ConfigMap, owned by the Job so that both go together; then resume it. */
    void created(KubeJob job, Job created) {
        Run run = runs.find(job.runId());
        KubernetesClient client = clients.get();
        if (run == null) {
            LOG.info("Job {} is not needed: its run {} has ended meanwhile", job.name(), job.runId());
            deleteQuietly(client, job);
            return;
        }
        claim(run, job, created);
        try {
            ConfigMapBuilder configMap = new ConfigMapBuilder(job.configMap());
            if (created != null && created.getMetadata() != null && created.getMetadata().getUid() != null) {
                configMap.editMetadata().withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("batch/v1")
                        .withKind("Job").withName(job.name()).withUid(created.getMetadata().getUid())
                        .withBlockOwnerDeletion(false).withController(false).build()).endMetadata();
            }
            ConfigMap table = configMap.build();
            KubeApi.retrying(settings, () -> client.configMaps().inNamespace(job.namespace()).resource(table).create());
            KubeApi.retrying(settings, () -> client.batch().v1().jobs().inNamespace(job.namespace()).withName(job.name())
                    .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"suspend\":false}}"));
        } catch (RuntimeException e) {
            if (stopping) {
                LOG.info("Job {} may be left suspended as drover stops: the next start sees to it", job.name());
                return;
            }
            String reason = "cannot start Job " + job.name() + " (its task table or resume failed): " + KubeApi.describe(e);
            LOG.error(reason);
            deleteQuietly(client, job);
            fail(run, job, reason);
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

    /**
     * Makes a created, still suspended Job the holder of its tasks in the journal before it may run them: each task
     * starts its next attempt under the Job's backend id, then the Job's uid marks it complete. Only then is the Job
     * resumed, so a Job without its uid in the journal never ran a pod.
     */
    private static void claim(Run run, KubeJob job, Job created) {
        for (int i = 0; i < job.size(); i++) {
            int task = job.tasks().get(i).index();
            if (run.taskStarted(task, run.attempts(task) + 1)) {
                run.taskBackend(task, job.backendId(i), "Pending");
            }
        }
        String uid = created != null && created.getMetadata() != null ? created.getMetadata().getUid() : null;
        // The API server always sets a uid; should the answer lack one, the name still marks the Job as complete.
        run.submission(job.name(), uid != null ? uid : job.name());
    }

    private static void fail(Run run, KubeJob job, String reason) {
        for (int i = 0; i < job.size(); i++) {
            run.taskFinished(job.tasks().get(i).index(), 0, TaskState.FAILED, Integer.MIN_VALUE, reason);
        }
    }

    /**
     * Called for every run rebuilt after a restart, before it resumes: follows again the Jobs that hold its tasks
     * ({@link Run#tasksAtBackend()}), so that what their pods did meanwhile is read from the API and settled, and no
     * held task runs a second time. A Job the journal has no uid for, or that is still suspended without a trace of
     * a pod, never ran one (see {@link #claim}): it is deleted and its tasks go back to the queue, to run in a new
     * Job with their interrupted attempt counted.
     */
    void reattach(Run run) {
        if (run.plan().strategy() != Strategy.KUBERNETES) {
            return;
        }
        String namespace = namespace(run);
        tracker.watch(run, namespace); // from here on a cancel, even one the journal replays, deletes the run's Jobs
        Map<String, String> submissions = run.submissions();
        Map<String, Job> live = liveJobs(run, namespace);
        Map<String, SortedMap<Integer, Integer>> held = heldByJob(run);
        int reattached = 0;
        int requeued = 0;
        if (live != null) {
            for (Job job : List.copyOf(live.values())) {
                String name = job.getMetadata().getName();
                if ("".equals(submissions.get(name)) || neverRan(job)) {
                    LOG.info("run {}: deleting Job {}, which never ran a pod; its tasks run in a new Job", run.id(),
                            name);
                    // requeued first: a crash after the delete must not find the tasks held by a Job that is gone
                    requeued += requeue(run, held.remove(name));
                    deleteQuietly(clients.get(), namespace, name);
                    live.remove(name);
                }
            }
        }
        for (Map.Entry<String, SortedMap<Integer, Integer>> entry : held.entrySet()) {
            String name = entry.getKey();
            if ("".equals(submissions.get(name))) {
                // never resumed, so nothing ran (if the list failed, the Job may be left suspended)
                requeued += requeue(run, entry.getValue());
                continue;
            }
            Job job = live != null ? live.get(name) : null;
            if (live != null && job == null) {
                // It may have run its tasks before TTL or someone deleted it: the tracker fails them (result
                // unknown) after its usual missing cycles rather than run them a second time.
                LOG.warn("run {}: Job {} is gone; its {} unfinished tasks will fail", run.id(), name,
                        entry.getValue().size());
            }
            tracker.reattach(run, namespace, name, tasksByJobIndex(run, job, entry.getValue()));
            reattached += entry.getValue().size();
        }
        LOG.info("run {}: re-attached to {} tasks in their Jobs; {} tasks of Jobs that never ran go to new Jobs",
                run.id(), reattached, requeued);
    }

    /** The run's Jobs by name; null if the API cannot be read (re-attaching then goes by the journal alone). */
    private Map<String, Job> liveJobs(Run run, String namespace) {
        try {
            Map<String, Job> jobs = new HashMap<>();
            for (Job job : KubeApi.retrying(settings, () -> clients.get().batch().v1().jobs().inNamespace(namespace)
                    .withLabel(IndexedJobBuilder.LABEL_RUN, KubeNames.labelValue(run.id())).list().getItems())) {
                jobs.put(job.getMetadata().getName(), job);
            }
            return jobs;
        } catch (RuntimeException e) {
            LOG.error("run {}: cannot list its Jobs to re-attach ({}); following the Jobs its journal names: one that"
                    + " a crash left suspended stays so, delete it with: kubectl delete jobs -n {} -l {}={}", run.id(),
                    KubeApi.describe(e), namespace, IndexedJobBuilder.LABEL_RUN, KubeNames.labelValue(run.id()));
            return null;
        }
    }

    /** Suspended, and its status shows no pod: drover never resumed it (or it was suspended before any pod). */
    private static boolean neverRan(Job job) {
        if (job.getSpec() == null || !Boolean.TRUE.equals(job.getSpec().getSuspend())) {
            return false;
        }
        JobStatus status = job.getStatus();
        return status == null || (isZero(status.getActive()) && isZero(status.getSucceeded())
                && isZero(status.getFailed()) && status.getStartTime() == null);
    }

    private static boolean isZero(Integer count) {
        return count == null || count == 0;
    }

    /**
     * Held tasks by Job name: Job index to task index. A backend id that is not one drover writes goes back to the
     * queue: no Job of this run can be holding it.
     */
    private static Map<String, SortedMap<Integer, Integer>> heldByJob(Run run) {
        Map<String, SortedMap<Integer, Integer>> held = new LinkedHashMap<>();
        run.tasksAtBackend().forEach((task, text) -> {
            BackendId id = KUBERNETES.parse(text);
            if (id == null) {
                run.requeue(task);
            } else {
                held.computeIfAbsent(id.job(), name -> new TreeMap<>()).put(id.element(), task);
            }
        });
        return held;
    }

    private static int requeue(Run run, SortedMap<Integer, Integer> tasks) {
        if (tasks == null) {
            return 0;
        }
        tasks.values().forEach(run::requeue);
        return tasks.size();
    }

    /** The tasks a Job holds by Job index, as long as its completions (null where a task had ended). */
    private static TaskSpec[] tasksByJobIndex(Run run, Job job, SortedMap<Integer, Integer> held) {
        int completions = job != null && job.getSpec() != null && job.getSpec().getCompletions() != null
                ? job.getSpec().getCompletions() : 0;
        TaskSpec[] tasks = new TaskSpec[Math.max(completions, held.lastKey() + 1)];
        held.forEach((index, task) -> tasks[index] = run.plan().manifest().tasks().task(task));
        return tasks;
    }

    private void deleteQuietly(KubernetesClient client, KubeJob job) {
        deleteQuietly(client, job.namespace(), job.name());
    }

    private void deleteQuietly(KubernetesClient client, String namespace, String name) {
        try {
            KubeApi.deleteJob(settings, client, namespace, name);
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
