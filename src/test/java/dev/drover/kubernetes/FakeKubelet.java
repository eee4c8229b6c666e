package dev.drover.kubernetes;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/**
 * A test-side kubelet + job controller for the fabric8 mock server in CRUD mode. It watches (polls) the namespace's
 * Jobs; for every unsuspended Indexed Job it mounts the Job's ConfigMap into a temporary folder, runs each index's
 * real container command as a local process (with JOB_COMPLETION_INDEX set, at most {@code parallelism} at once) and
 * writes pods and Job status the way Kubernetes does: a pod per attempt labelled with job name and completion index,
 * phase Running then Succeeded/Failed with {@code containerStatuses[].state.terminated} (exit code, reason
 * Completed/Error/OOMKilled), retries up to backoffLimitPerIndex, Job status completedIndexes/failedIndexes and the
 * Complete/Failed conditions, pod activeDeadlineSeconds (reason DeadlineExceeded), and deletion of the pods of a
 * deleted Job (what background propagation does). A process killed by SIGKILL (exit 137) counts as OOMKilled: that is
 * what the kernel's OOM killer does to a container. Each pod's output is served as its log through an expectation.
 *
 * <p>The image can play a kubelet that cannot start the container: an image containing {@value #NEVER_PULLS} leaves
 * its pods Pending with a waiting container that alternates ErrImagePull and ImagePullBackOff (each with the
 * kubelet's message) until the Job is deleted; {@value #INVALID} gives InvalidImageName; {@value #SLOW_REGISTRY}
 * gives ImagePullBackOff until the test says the registry is back ({@link #registryBack}), then the pod runs as any
 * other: a test waits for drover to have seen the pod stuck, not for a fixed pull time. {@link #badNode} plays
 * one node that cannot pull: the first pod of one index of a Job fails to pull (as {@value #NEVER_PULLS}) until it
 * is deleted, which the job controller counts as a failure of that index; the index's next pod pulls fine.
 *
 * <p>Each pod has its own termination log and cgroup folder (the wrapper's paths in the command are mapped to
 * them): the cgroup holds {@link #CGROUP_CPU_USEC} and {@link #CGROUP_PEAK_BYTES}, and what the container wrote into
 * its termination log becomes the terminated state's message, as the kubelet does.
 *
 * <p>Nodes: each pod is placed on the first of {@link #nodes} its preferred node anti-affinity does not avoid (else
 * the first), as spec.nodeName. Memory: the container's memory limit is told to the process in MiB as
 * {@value #MEMORY_LIMIT_ENV} (what a task may compare its need with, to play the OOM killer: {@code kill -9 $$}).
 * {@link #disrupt} plays preemption: the next pods of a Job are stopped as soon as they run and end Failed with the
 * DisruptionTarget condition (reason PreemptionByScheduler), exit 143.
 *
 * <p>Deadlines (the Job's and each pod's activeDeadlineSeconds) last {@link #secondMillis} ms per second, so that a
 * test can keep the proportions of real limits and still be fast.
 */
final class FakeKubelet implements AutoCloseable {

    static final String USER_AGENT = "fake-kubelet";
    /** In an image: its pull fails for good. */
    static final String NEVER_PULLS = "nope";
    /** In an image: not a valid image reference. */
    static final String INVALID = "//invalid";
    /** In an image: its pull fails until {@link #registryBack}, then works. */
    static final String SLOW_REGISTRY = "slow-registry";
    /** How often the kubelet's pull state changes (ErrImagePull, then ImagePullBackOff, ...). */
    static final long PULL_STEP_MILLIS = 100;

    /** What each pod's cgroup says it used (cpu.stat usage_usec, memory.peak): the figures drover must report. */
    static final long CGROUP_CPU_USEC = 1_250_000;
    static final long CGROUP_PEAK_BYTES = 200L * 1024 * 1024;
    /** The container's memory limit in MiB, told to the task's process. */
    static final String MEMORY_LIMIT_ENV = "FAKE_MEMORY_LIMIT_MIB";
    /** The cluster's nodes, by kubernetes.io/hostname. */
    volatile List<String> nodes = List.of("node-a", "node-b");
    /** Job name prefix → how many more of its pods are preempted. */
    private final Map<String, AtomicInteger> disruptions = new ConcurrentHashMap<>();

    private final KubernetesMockServer server;
    private final KubernetesClient client;
    private final String namespace;
    private final Path root;
    private final Set<String> started = ConcurrentHashMap.newKeySet();
    private final Map<String, JobRunner> runners = new ConcurrentHashMap<>();
    final List<String> podNames = new CopyOnWriteArrayList<>();
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-kubelet");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean closed;
    /** Pulls from {@value #SLOW_REGISTRY} work from now on. */
    private volatile boolean registryBack;
    /** How long one second of a deadline lasts, in ms. */
    volatile long secondMillis = 1000;
    /** Job name prefix → the index whose first pod cannot pull its image. */
    private final Map<String, Integer> badNodes = new ConcurrentHashMap<>();

    /** The first pod of index {@code index} of the Jobs whose names start with {@code jobPrefix} cannot pull. */
    void badNode(String jobPrefix, int index) {
        badNodes.put(jobPrefix, index);
    }

    /** Pulls from {@value #SLOW_REGISTRY} work from now on. */
    void registryBack() {
        registryBack = true;
    }

    /** The next {@code pods} pods of the Jobs whose names start with {@code jobPrefix} are preempted. */
    void disrupt(String jobPrefix, int pods) {
        disruptions.put(jobPrefix, new AtomicInteger(pods));
    }

    private boolean disrupted(String jobName) {
        return disruptions.entrySet().stream().anyMatch(e -> jobName.startsWith(e.getKey())
                && e.getValue().getAndUpdate(n -> Math.max(0, n - 1)) > 0);
    }

    /** The first node the pod's preferred node anti-affinity does not avoid, else the first node. */
    private String place(Pod pod) {
        Set<String> avoided = new java.util.HashSet<>();
        var affinity = pod.getSpec().getAffinity();
        if (affinity != null && affinity.getNodeAffinity() != null) {
            for (var term : affinity.getNodeAffinity().getPreferredDuringSchedulingIgnoredDuringExecution()) {
                for (var expression : term.getPreference().getMatchExpressions()) {
                    if (KubeResources.HOSTNAME.equals(expression.getKey()) && "NotIn".equals(expression.getOperator())) {
                        avoided.addAll(expression.getValues());
                    }
                }
            }
        }
        List<String> all = nodes;
        return all.stream().filter(n -> !avoided.contains(n)).findFirst().orElse(all.get(0));
    }

    private boolean onBadNode(String jobName, int index, int failures) {
        return failures == 0 && badNodes.entrySet().stream()
                .anyMatch(e -> jobName.startsWith(e.getKey()) && e.getValue() == index);
    }

    FakeKubelet(KubernetesMockServer server, KubernetesClient client, String namespace, Path root) {
        this.server = server;
        this.client = client;
        this.namespace = namespace;
        this.root = root;
        pool.execute(this::loop);
    }

    private void loop() {
        while (!closed) {
            try {
                List<Job> jobs = client.batch().v1().jobs().inNamespace(namespace).list().getItems();
                Set<String> present = jobs.stream().map(j -> j.getMetadata().getName()).collect(Collectors.toSet());
                for (Job job : jobs) {
                    String name = job.getMetadata().getName();
                    if (!Boolean.TRUE.equals(job.getSpec().getSuspend()) && started.add(name)) {
                        JobRunner runner = new JobRunner(job);
                        runners.put(name, runner);
                        pool.execute(runner::run);
                    }
                }
                for (JobRunner runner : runners.values()) {
                    if (!present.contains(runner.name)) {
                        runner.deleted();
                    }
                }
                Thread.sleep(25);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    private final class JobRunner {
        final Job job;
        final String name;
        final Set<Process> processes = ConcurrentHashMap.newKeySet();
        final TreeSet<Integer> completed = new TreeSet<>();
        final TreeSet<Integer> failed = new TreeSet<>();
        final AtomicInteger succeededPods = new AtomicInteger();
        final AtomicInteger failedPods = new AtomicInteger();
        volatile boolean gone;

        JobRunner(Job job) {
            this.job = job;
            this.name = job.getMetadata().getName();
        }

        void run() {
            try {
                String configMapName = job.getSpec().getTemplate().getSpec().getVolumes().get(0).getConfigMap().getName();
                ConfigMap table = client.configMaps().inNamespace(namespace).withName(configMapName).get();
                Path dir = Files.createDirectories(root.resolve(name));
                for (Map.Entry<String, String> e : table.getData().entrySet()) {
                    Files.writeString(dir.resolve(e.getKey()), e.getValue());
                }
                int completions = job.getSpec().getCompletions();
                int parallelism = job.getSpec().getParallelism() != null ? job.getSpec().getParallelism() : completions;
                ExecutorService slots = Executors.newFixedThreadPool(parallelism);
                long start = System.currentTimeMillis();
                Long deadline = job.getSpec().getActiveDeadlineSeconds();
                List<java.util.concurrent.Future<?>> futures = new ArrayList<>();
                for (int i = 0; i < completions; i++) {
                    int index = i;
                    futures.add(slots.submit(() -> runIndex(index, dir)));
                }
                slots.shutdown();
                while (!slots.awaitTermination(20, TimeUnit.MILLISECONDS)) {
                    if (gone) {
                        killAll();
                    } else if (deadline != null && System.currentTimeMillis() - start > deadline * secondMillis) {
                        gone = true; // the job controller stops every pod of the Job
                        killAll();
                        slots.awaitTermination(5, TimeUnit.SECONDS);
                        deletePods();
                        updateStatus("Failed", "DeadlineExceeded", "Job was active longer than specified deadline");
                        return;
                    }
                }
                if (gone) {
                    deletePods();
                    return;
                }
                if (failed.isEmpty()) {
                    updateStatus("Complete", null, null);
                } else {
                    updateStatus("Failed", "FailedIndexes", "Job has failed indexes");
                }
            } catch (Exception e) {
                e.printStackTrace();
            }
        }

        void runIndex(int index, Path dir) {
            int limit = job.getSpec().getBackoffLimitPerIndex() != null ? job.getSpec().getBackoffLimitPerIndex() : 0;
            for (int failures = 0; !gone; ) {
                if (runPod(index, dir, failures)) {
                    synchronized (this) {
                        completed.add(index);
                    }
                    updateStatus(null, null, null);
                    return;
                }
                failures++;
                if (failures > limit) {
                    synchronized (this) {
                        failed.add(index);
                    }
                    updateStatus(null, null, null);
                    return;
                }
            }
        }

        /** The downward API: an environment variable from one of the pod's annotations ("" when it has none). */
        private static String fieldRef(Pod pod, EnvVar var) {
            String path = var.getValueFrom().getFieldRef().getFieldPath();
            java.util.regex.Matcher annotation = java.util.regex.Pattern.compile("metadata\\.annotations\\['(.+)']")
                    .matcher(path);
            if (!annotation.matches()) {
                throw new IllegalArgumentException("the fake kubelet does not know the field " + path);
            }
            return pod.getMetadata().getAnnotations().getOrDefault(annotation.group(1), "");
        }

        boolean runPod(int index, Path dir, int failures) {
            String podName = name + "-" + index + "-" + Long.toString(System.nanoTime() % 60_466_176L, 36);
            Map<String, String> labels = new LinkedHashMap<>(job.getSpec().getTemplate().getMetadata().getLabels());
            labels.put("batch.kubernetes.io/job-name", name);
            labels.put("job-name", name);
            labels.put("batch.kubernetes.io/job-completion-index", Integer.toString(index));
            Pod pod = new PodBuilder().withNewMetadata().withName(podName).withNamespace(namespace).withLabels(labels)
                    .withCreationTimestamp(Instant.now().toString())
                    .addToAnnotations("batch.kubernetes.io/job-completion-index", Integer.toString(index))
                    .addToAnnotations("batch.kubernetes.io/job-index-failure-count", Integer.toString(failures))
                    .endMetadata().withSpec(job.getSpec().getTemplate().getSpec())
                    .withNewStatus().withPhase("Running").endStatus().build();
            pod = new PodBuilder(pod).editSpec().withNodeName(place(pod)).endSpec().build();
            Container container = pod.getSpec().getContainers().get(0);
            String image = container.getImage();
            boolean badNode = onBadNode(name, index, failures);
            boolean pullTrouble = image.contains(NEVER_PULLS) || image.contains(INVALID)
                    || image.contains(SLOW_REGISTRY) || badNode;
            if (pullTrouble) {
                pod = new PodBuilder(pod).editStatus().withPhase("Pending").endStatus().build();
            }
            client.pods().inNamespace(namespace).resource(pod).create();
            podNames.add(podName);
            if (pullTrouble) {
                pod = pull(pod, container, badNode);
                if (pod == null) {
                    if (!gone) {
                        failedPods.incrementAndGet(); // deleted before it ended: a failure of its index
                    }
                    return false;
                }
            }
            // the pod's own termination log and cgroup, as the kubelet and the kernel give each container
            Path terminationLog = dir.resolve(podName + ".termination-log");
            Path cgroup = dir.resolve(podName + ".cgroup");
            try {
                Files.createDirectories(cgroup);
                Files.writeString(cgroup.resolve("cpu.stat"), "usage_usec " + CGROUP_CPU_USEC + "\nuser_usec 1\n");
                Files.writeString(cgroup.resolve("memory.peak"), CGROUP_PEAK_BYTES + "\n");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            List<String> command = new ArrayList<>();
            for (String arg : container.getCommand()) {
                command.add(arg.replace(IndexedJobBuilder.TASKS_DIR, dir.toString())
                        .replace(PodUsage.TERMINATION_LOG, terminationLog.toString())
                        .replace(PodUsage.CGROUP, cgroup.toString()));
            }
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).directory(dir.toFile());
            Map<String, String> env = builder.environment();
            for (EnvVar var : container.getEnv()) {
                env.put(var.getName(), var.getValueFrom() == null ? var.getValue() : fieldRef(pod, var));
            }
            env.put("JOB_COMPLETION_INDEX", Integer.toString(index));
            if (container.getResources() != null && container.getResources().getLimits() != null
                    && container.getResources().getLimits().containsKey("memory")) {
                env.put(MEMORY_LIMIT_ENV, io.fabric8.kubernetes.api.model.Quantity.getAmountInBytes(
                        container.getResources().getLimits().get("memory")).longValue() / (1024 * 1024) + "");
            }
            int exit;
            String output;
            boolean timedOut = false;
            boolean preempted = disrupted(name);
            try {
                Process process = builder.start();
                processes.add(process);
                Long podDeadline = pod.getSpec().getActiveDeadlineSeconds();
                if (preempted) {
                    process.descendants().forEach(ProcessHandle::destroy);
                    process.destroy();
                } else if (podDeadline != null && !process.waitFor(podDeadline * secondMillis, TimeUnit.MILLISECONDS)) {
                    timedOut = true;
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly();
                }
                output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                exit = process.waitFor();
                processes.remove(process);
            } catch (IOException | InterruptedException e) {
                output = e.toString();
                exit = 128;
            }
            if (gone) {
                return false;
            }
            String log = output;
            synchronized (server) { // the mock keeps expectations in a plain HashMap: one writer at a time
                server.expect().get().withPath("/api/v1/namespaces/" + namespace + "/pods/" + podName + "/log?pretty=false")
                        .andReturn(200, log).always();
            }
            if (preempted) {
                exit = 143; // SIGTERM, as the kubelet stops a preempted pod's container
            }
            String reason = exit == 0 ? "Completed" : timedOut || preempted ? "Error" : exit == 137 ? "OOMKilled"
                    : "Error";
            Pod ended = new PodBuilder(pod).editStatus().withPhase(exit == 0 ? "Succeeded" : "Failed")
                    .withConditions(preempted ? List.of(new io.fabric8.kubernetes.api.model.PodConditionBuilder()
                            .withType("DisruptionTarget").withStatus("True").withReason("PreemptionByScheduler")
                            .withMessage("fake-scheduler: preempting to accommodate a higher priority pod").build())
                            : List.of())
                    .withReason(timedOut ? "DeadlineExceeded" : null)
                    .withMessage(timedOut ? "Pod was active on the node longer than the specified deadline" : null)
                    .withContainerStatuses(new ContainerStatusBuilder().withName(container.getName())
                            .withNewState().withNewTerminated().withExitCode(exit).withReason(reason)
                            .withMessage(terminationMessage(terminationLog))
                            .endTerminated().endState().build())
                    .endStatus().build();
            client.pods().inNamespace(namespace).resource(ended).updateStatus();
            (exit == 0 ? succeededPods : failedPods).incrementAndGet();
            return exit == 0;
        }

        /** What the container wrote into its termination log (at most 4096 bytes, as the kubelet reads), or null. */
        private static String terminationMessage(Path log) {
            try {
                String text = Files.readString(log);
                return text.length() > 4096 ? text.substring(0, 4096) : text;
            } catch (IOException e) {
                return null;
            }
        }

        /**
         * The kubelet trying to start the pod's container with an image in trouble: the pod stays Pending with a
         * waiting container status; the pod, Running, once the pull works ({@value #SLOW_REGISTRY}); null if the Job
         * or the pod was deleted before (the pull never works for {@value #NEVER_PULLS}, {@value #INVALID} and on a
         * bad node).
         */
        Pod pull(Pod pod, Container container, boolean badNode) {
            String image = container.getImage();
            String shown = null;
            for (int step = 0; !gone; step++) {
                if (!badNode && image.contains(SLOW_REGISTRY) && registryBack) {
                    Pod running = new PodBuilder(pod).editStatus().withPhase("Running")
                            .withContainerStatuses(new ContainerStatusBuilder().withName(container.getName())
                                    .withImage(image).withNewState().withNewRunning().withStartedAt(Instant.now()
                                            .toString()).endRunning().endState().build())
                            .endStatus().build();
                    return writeStatus(running) ? running : null;
                }
                String reason;
                String message;
                if (!badNode && image.contains(INVALID)) {
                    reason = "InvalidImageName";
                    message = "Failed to apply default image tag \"" + image + "\": couldn't parse image reference \""
                            + image + "\": invalid reference format";
                } else if (step % 2 == 0) {
                    reason = "ErrImagePull";
                    message = "failed to pull and unpack image \"docker.io/library/" + image
                            + "\": failed to resolve reference: not found";
                } else {
                    reason = "ImagePullBackOff";
                    message = "Back-off pulling image \"" + image + "\"";
                }
                if (!reason.equals(shown)) {
                    shown = reason;
                    Pod waiting = new PodBuilder(pod).editStatus().withPhase("Pending")
                            .withContainerStatuses(new ContainerStatusBuilder().withName(container.getName())
                                    .withImage(image).withReady(false).withRestartCount(0).withNewState()
                                    .withNewWaiting().withReason(reason).withMessage(message).endWaiting().endState()
                                    .build())
                            .endStatus().build();
                    if (!writeStatus(waiting)) {
                        return null;
                    }
                }
                try {
                    Thread.sleep(PULL_STEP_MILLIS);
                } catch (InterruptedException e) {
                    return null;
                }
            }
            return null;
        }

        /** False if the pod is gone (its Job was deleted meanwhile). */
        boolean writeStatus(Pod pod) {
            try {
                client.pods().inNamespace(namespace).resource(pod).updateStatus();
                return !gone;
            } catch (RuntimeException e) {
                return false;
            }
        }

        synchronized void updateStatus(String conditionType, String reason, String message) {
            if (gone && conditionType == null) {
                return;
            }
            try {
                Job current = client.batch().v1().jobs().inNamespace(namespace).withName(name).get();
                if (current == null) {
                    return;
                }
                current.setStatus(new io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder()
                        .withSucceeded(succeededPods.get()).withFailed(failedPods.get())
                        .withCompletedIndexes(ranges(completed)).withFailedIndexes(ranges(failed))
                        .withConditions(conditionType == null ? List.of() : List.of(new JobConditionBuilder()
                                .withType(conditionType).withStatus("True").withReason(reason).withMessage(message)
                                .build()))
                        .build());
                client.batch().v1().jobs().inNamespace(namespace).resource(current).updateStatus();
            } catch (RuntimeException e) {
                // the Job was deleted meanwhile
            }
        }

        void deleted() {
            gone = true;
            killAll();
            deletePods();
        }

        void killAll() {
            for (Process p : processes) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
        }

        void deletePods() {
            try {
                client.pods().inNamespace(namespace).withLabel("job-name", name).delete();
            } catch (RuntimeException ignored) {
                // already gone
            }
        }
    }

    static String ranges(TreeSet<Integer> indexes) {
        List<String> parts = new ArrayList<>();
        Integer from = null;
        Integer prev = null;
        for (int i : indexes) {
            if (prev != null && i == prev + 1) {
                prev = i;
                continue;
            }
            if (from != null) {
                parts.add(from.equals(prev) ? "" + from : from + "-" + prev);
            }
            from = i;
            prev = i;
        }
        if (from != null) {
            parts.add(from.equals(prev) ? "" + from : from + "-" + prev);
        }
        return parts.isEmpty() ? null : String.join(",", parts);
    }

    @Override
    public void close() {
        closed = true;
        runners.values().forEach(JobRunner::killAll);
        pool.shutdownNow();
    }

    static Map<String, String> copy(Map<String, String> m) {
        return m == null ? new HashMap<>() : new HashMap<>(m);
    }
}
