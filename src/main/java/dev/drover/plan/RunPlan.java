package dev.drover.plan;

import dev.drover.manifest.Manifest;
import dev.drover.manifest.ManifestException;

/**
 * A manifest with its run settings resolved (command line over manifest over defaults) and checked against the
 * rules of the reference CLI: which strategies take --jobs and --job-resources, and how slurm+batching sizes batches.
 *
 * @param jobs      concurrent tasks (local), concurrent array elements (SLURM, 0 = no limit), or the target job
 *                  count (slurm+batching)
 * @param batchSize tasks per unit of work sent to the strategy's lane: per SLURM job for slurm+batching, per
 *                  Indexed Job (at most) for kubernetes, else 1
 */
public record RunPlan(Manifest manifest, Strategy strategy, int jobs, JobResources resources, int batchSize) {

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
        int taskCount = manifest.tasks().size();

        if (strategy.isLocal() && !resources.isEmpty()) {
            throw new ManifestException(JobResources.FIELD, "is not used by the " + strategy + " strategy: remove it,"
                    + " or choose slurm, slurm+batching or kubernetes");
        }
        if (strategy == Strategy.SEQUENTIAL && jobs != null) {
            throw new ManifestException("--jobs", "does not apply to the sequential strategy, which runs one task at a"
                    + " time: remove it, or use --distribution-strategy multiprocessing");
        }
        if (strategy.isSlurm() && resources.isEmpty()) {
            throw new ManifestException(JobResources.FIELD, "is required for " + strategy
                    + ", e.g. --job-resources mem=1G,time=00:10:00,partition=cpu");
        }
        resources.checkFor(strategy);
        if (resources.has(JobResources.BATCH_SIZE) && strategy != Strategy.SLURM_BATCHING
                && strategy != Strategy.KUBERNETES) {
            throw new ManifestException(JobResources.FIELD, "batch-size only applies to slurm+batching (tasks per"
                    + " SLURM job) and kubernetes (tasks per Job): remove it, or choose one of those strategies");
        }
        if (strategy == Strategy.MULTIPROCESSING && jobs != null && jobs > MAX_LOCAL_JOBS) {
            throw new ManifestException("--jobs", jobs + " is more local processes at once than drover runs (at most "
                    + MAX_LOCAL_JOBS + "): give a smaller --jobs, or use a cluster strategy");
        }
        int batchSize = 1;
        if (strategy == Strategy.SLURM_BATCHING) {
            boolean hasBatchSize = resources.has(JobResources.BATCH_SIZE);
            if (jobs != null && hasBatchSize) {
                throw new ManifestException("--jobs", "and batch-size in --job-resources are mutually exclusive for"
                        + " slurm+batching: --jobs N makes at most N jobs, batch-size=K puts K tasks in each job; keep one");
            }
            if (jobs == null && !hasBatchSize) {
                throw new ManifestException("--jobs", "is required for slurm+batching when batch-size is not set in"
                        + " --job-resources: give --jobs N (number of SLURM jobs) or --job-resources batch-size=K,...");
            }
            batchSize = hasBatchSize ? Integer.parseInt(resources.get(JobResources.BATCH_SIZE))
                    : (int) Math.ceil((double) taskCount / jobs);
        }
        if (strategy == Strategy.KUBERNETES) {
            // No --job-resources needed (unlike the reference CLI): the one thing Kubernetes cannot guess is the image,
            // and the manifest may name it; requests and limits are optional on Kubernetes.
            if (image(manifest, resources) == null) {
                throw new ManifestException("image", "the kubernetes strategy needs a container image to run the tasks"
                        + " in: add 'image: python:3.12-slim' (any image with /bin/sh and the tasks' programs) to the"
                        + " manifest, or --job-resources image=...");
            }
            KubernetesTerms.from(resources); // converts the SLURM units now, so that errors come before anything runs
            batchSize = resources.has(JobResources.BATCH_SIZE) ? Integer.parseInt(resources.get(JobResources.BATCH_SIZE))
                    : KUBERNETES_TASKS_PER_JOB;
        }
        int resolvedJobs = switch (strategy) {
            case SEQUENTIAL -> 1;
            case MULTIPROCESSING -> jobs != null ? jobs : Math.min(MAX_LOCAL_JOBS, Runtime.getRuntime().availableProcessors());
            case SLURM_BATCHING -> (int) Math.ceil((double) taskCount / batchSize);
            default -> jobs != null ? jobs : 0;
        };
        return new RunPlan(manifest, strategy, resolvedJobs, resources, batchSize);
    }

    public int taskCount() {
        return manifest.tasks().size();
    }

    /** Units of work the lane receives: SLURM jobs for slurm+batching, tasks otherwise. */
    public int batchCount() {
        return (taskCount() + batchSize - 1) / batchSize;
    }

    /** One line for `drover validate` and the run log. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(manifest.name()).append(": ").append(taskCount()).append(taskCount() == 1 ? " task" : " tasks")
                .append(", strategy ").append(strategy);
        switch (strategy) {
            case MULTIPROCESSING -> sb.append(", up to ").append(jobs).append(" at once");
            case SEQUENTIAL -> sb.append(", one at a time in order");
            case SLURM_BATCHING -> sb.append(", ").append(batchCount()).append(" SLURM jobs of up to ")
                    .append(batchSize).append(" tasks");
            case SLURM -> sb.append(jobs > 0 ? ", up to " + jobs + " at once" : "");
            case KUBERNETES -> sb.append(", ").append(batchCount() == 1 ? "1 Indexed Job of " + taskCount()
                            : batchCount() + " Indexed Jobs of up to " + batchSize).append(" tasks")
                    .append(jobs > 0 ? ", up to " + jobs + " pods at once per Job" : "").append(", image ").append(image());
        }
        if (!resources.isEmpty()) {
            sb.append(", resources ").append(resources.schedulerValues());
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
