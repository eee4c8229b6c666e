package dev.drover.plan;

import dev.drover.manifest.JobResources;
import dev.drover.manifest.Manifest;
import dev.drover.manifest.ManifestException;

/**
 * A manifest with its run settings resolved (command line over manifest over defaults) and checked against the
 * rules of the reference CLI, which each {@link Strategy} holds: which strategies take --jobs and --job-resources, and
 * how slurm+batching sizes batches.
 *
 * @param jobs      concurrent tasks (local), concurrent array elements (SLURM, 0 = no limit), or the target job
 *                  count (slurm+batching)
 * @param batchSize tasks per unit of work sent to the strategy's lane: per SLURM job for slurm+batching, per
 *                  Indexed Job (at most) for kubernetes, else 1
 */
public record RunPlan(Manifest manifest, Strategy strategy, int jobs, JobResources resources, int batchSize,
                      ResourceGroups groups) {

    /** A plan whose tasks are grouped by their resources over {@code resources}. */
    public RunPlan(Manifest manifest, Strategy strategy, int jobs, JobResources resources, int batchSize) {
        this(manifest, strategy, jobs, resources, batchSize, new ResourceGroups(resources, manifest.tasks()));
    }

    public static final Strategy DEFAULT_STRATEGY = Strategy.MULTIPROCESSING;
    /** SEDA's limit on concurrent consumers, and so on one multiprocessing run's parallelism. */
    public static final int MAX_LOCAL_JOBS = 500;
    /**
     * kubernetes: tasks per Indexed Job unless batch-size says otherwise. The lane splits further when
     * drover.kubernetes.tasks-per-job is smaller or a Job's task table would not fit one ConfigMap.
     */
    public static final int KUBERNETES_TASKS_PER_JOB = 1000;

    /** The container image of a kubernetes run: --job-resources image, else the manifest's image; null if none. */
    public static String image(Manifest manifest, JobResources resources) {
        return resources.has(JobResources.IMAGE_KEY) ? resources.get(JobResources.IMAGE_KEY) : manifest.image();
    }

    public String image() {
        return image(manifest, resources);
    }

    public static RunPlan resolve(Manifest manifest, RunOptions options) {
        try {
            return resolveChecked(manifest, options);
        } catch (ManifestException e) {
            throw inManifestTerms(e, manifest, options);
        }
    }

    /** An error about jobs or jobResources that came from the manifest names the manifest's field, not the flag. */
    private static ManifestException inManifestTerms(ManifestException e, Manifest manifest, RunOptions options) {
        if (e.field().equals("--jobs") && options.jobs() == null && manifest.jobs() != null) {
            return new ManifestException("jobs", e.problem());
        }
        if (e.field().equals(JobResources.FIELD) && options.jobResources() == null && manifest.jobResources() != null) {
            return new ManifestException("jobResources", e.problem());
        }
        return e;
    }

    private static RunPlan resolveChecked(Manifest manifest, RunOptions options) {
        boolean strategyFromCli = options.strategy() != null;
        String strategyName = strategyFromCli ? options.strategy() : manifest.strategy();
        Strategy strategy = strategyName == null ? DEFAULT_STRATEGY
                : Strategy.of(strategyName, strategyFromCli ? "--distribution-strategy" : "strategy");
        if (options.jobs() != null && options.jobs() < 1) {
            throw new ManifestException("--jobs", "must be a positive whole number, not " + options.jobs());
        }
        Integer jobs = options.jobs() != null ? options.jobs() : manifest.jobs();
        Object resourceSpec = options.jobResources() != null ? options.jobResources() : manifest.jobResources();
        JobResources resources = JobResources.parse(resourceSpec);
        int batchSize = strategy.batchSize(manifest, jobs, resources);
        RunPlan plan = new RunPlan(manifest, strategy, strategy.jobs(jobs, manifest.tasks().size(), batchSize),
                resources, batchSize);
        strategy.checkGroups(plan.groups());
        return plan;
    }

    /** The resources a task runs with before any escalation: its own over the run's. */
    public JobResources taskResources(int task) {
        return groups.forTask(task);
    }

    public int taskCount() {
        return manifest.tasks().size();
    }

    /** Units of work the lane receives: SLURM jobs for slurm+batching, tasks otherwise; batches never mix groups. */
    public int batchCount() {
        int batches = 0;
        for (int g = 0; g < groups.size(); g++) {
            batches += batchCount(g);
        }
        return batches;
    }

    public int batchCount(int group) {
        return (groups.taskCount(group) + batchSize - 1) / batchSize;
    }

    /** One line for `drover validate` and the run log. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(manifest.name()).append(": ").append(taskCount()).append(taskCount() == 1 ? " task" : " tasks")
                .append(", strategy ").append(strategy);
        sb.append(strategy.describe(this));
        if (!resources.isEmpty()) {
            sb.append(", resources ").append(resources.schedulerValues());
        }
        if (groups.perTask()) {
            sb.append(strategy.isLocal() ? ", tasks' own jobResources ignored (no meaning locally)"
                    : ", " + groups.size() + " resource groups");
        }
        if (manifest.retries() > 0) {
            sb.append(", retries ").append(manifest.retries());
        }
        if (manifest.timeout() != null) {
            sb.append(", timeout ").append(manifest.timeout().toString().substring(2).toLowerCase());
        }
        return sb.toString();
    }
}
