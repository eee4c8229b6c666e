package dev.drover.plan;

import dev.drover.manifest.JobResources;
import dev.drover.manifest.Manifest;
import dev.drover.manifest.ManifestException;

import java.util.Arrays;
import java.util.stream.Collectors;

import static dev.drover.plan.Strategy.Lanes.SLURM_LANE;

/**
 * Where a run's tasks execute; the names are the values of --distribution-strategy. Each strategy holds what is its
 * own: its rules for --jobs and --job-resources and how it sizes batches (the rules of the reference CLI), its part
 * of the plan's description, and the lane its batches go to (the feed-run and dispatch routes send there,
 * routes/lane-*.camel.yaml take them). A new strategy is a new constant here and a lane route.
 */
public enum Strategy {
    SLURM("slurm", SLURM_LANE) {
        @Override
        int batchSize(Manifest manifest, Integer jobs, JobResources resources) {
            requireResources(manifest, resources);
            checkResources(resources, JobResources.FIELD);
            refuseBatchSize(resources);
            return 1;
        }

        @Override
        String describe(RunPlan plan) {
            return plan.jobs() > 0 ? ", up to " + plan.jobs() + " at once" : "";
        }
    },
    SLURM_BATCHING("slurm+batching", SLURM_LANE) {
        @Override
        int batchSize(Manifest manifest, Integer jobs, JobResources resources) {
            requireResources(manifest, resources);
            checkResources(resources, JobResources.FIELD);
            boolean hasBatchSize = resources.has(JobResources.BATCH_SIZE);
            if (jobs != null && hasBatchSize) {
                throw new ManifestException("--jobs", "and batch-size in --job-resources are mutually exclusive for"
                        + " slurm+batching: --jobs N makes at most N jobs, batch-size=K puts K tasks in each job; keep one");
            }
            if (jobs == null && !hasBatchSize) {
                throw new ManifestException("--jobs", "is required for slurm+batching when batch-size is not set in"
                        + " --job-resources: give --jobs N (number of SLURM jobs) or --job-resources batch-size=K,...");
            }
            return hasBatchSize ? Integer.parseInt(resources.get(JobResources.BATCH_SIZE))
                    : (int) Math.ceil((double) manifest.tasks().size() / jobs);
        }

        @Override
        int jobs(Integer jobs, int taskCount, int batchSize) {
            return (int) Math.ceil((double) taskCount / batchSize);
        }

        @Override
        String describe(RunPlan plan) {
            return ", " + plan.batchCount() + " SLURM jobs of up to " + plan.batchSize() + " tasks";
        }
    },
    KUBERNETES("kubernetes", "direct:lane-kubernetes") {
        @Override
        int batchSize(Manifest manifest, Integer jobs, JobResources resources) {
            checkResources(resources, JobResources.FIELD);
            // No --job-resources needed (unlike the reference CLI): the one thing Kubernetes cannot guess is the
            // image, and the manifest may name it; requests and limits are optional on Kubernetes.
            if (RunPlan.image(manifest, resources) == null) {
                throw new ManifestException("image", "the kubernetes strategy needs a container image to run the tasks"
                        + " in: add 'image: python:3.12-slim' (any image with /bin/sh and the tasks' programs) to the"
                        + " manifest, or --job-resources image=...");
            }
            KubernetesTerms.from(resources); // converts the SLURM units now, so that errors come before anything runs
            return resources.has(JobResources.BATCH_SIZE) ? Integer.parseInt(resources.get(JobResources.BATCH_SIZE))
                    : RunPlan.KUBERNETES_TASKS_PER_JOB;
        }

        @Override
        String describe(RunPlan plan) {
            int jobs = plan.batchCount();
            return ", " + (jobs == 1 ? "1 Indexed Job of " + plan.taskCount() : jobs + " Indexed Jobs of up to "
                    + plan.batchSize()) + " tasks" + (plan.jobs() > 0 ? ", up to " + plan.jobs() + " pods at once per Job"
                    : "") + ", image " + plan.image();
        }
    },
    /** Each run holds a lane of its own (a SEDA queue with --jobs consumers), opened when it is fed. */
    MULTIPROCESSING("multiprocessing", null) {
        @Override
        int batchSize(Manifest manifest, Integer jobs, JobResources resources) {
            refuseResources(resources);
            if (jobs != null && jobs > RunPlan.MAX_LOCAL_JOBS) {
                throw new ManifestException("--jobs", jobs + " is more local processes at once than drover runs (at"
                        + " most " + RunPlan.MAX_LOCAL_JOBS + "): give a smaller --jobs, or use a cluster strategy");
            }
            return 1;
        }

        @Override
        int jobs(Integer jobs, int taskCount, int batchSize) {
            return jobs != null ? jobs : Math.min(RunPlan.MAX_LOCAL_JOBS, Runtime.getRuntime().availableProcessors());
        }

        @Override
        String describe(RunPlan plan) {
            return ", up to " + plan.jobs() + " at once";
        }
    },
    SEQUENTIAL("sequential", "direct:lane-sequential") {
        @Override
        int batchSize(Manifest manifest, Integer jobs, JobResources resources) {
            refuseResources(resources);
            if (jobs != null) {
                throw new ManifestException("--jobs", "does not apply to the sequential strategy, which runs one task"
                        + " at a time: remove it, or use --distribution-strategy multiprocessing");
            }
            return 1;
        }

        @Override
        int jobs(Integer jobs, int taskCount, int batchSize) {
            return 1;
        }

        @Override
        String describe(RunPlan plan) {
            return ", one at a time in order";
        }
    };

    private final String cliName;
    private final String lane;

    Strategy(String cliName, String lane) {
        this.cliName = cliName;
        this.lane = lane;
    }

    /**
     * Checks --jobs and --job-resources against this strategy's rules and answers how many tasks go in one batch
     * (the unit its lane receives).
     *
     * @throws ManifestException naming the flag (RunPlan names the manifest's field when the value came from there)
     */
    abstract int batchSize(Manifest manifest, Integer jobs, JobResources resources);

    /** The resolved --jobs: see {@link RunPlan}. */
    int jobs(Integer jobs, int taskCount, int batchSize) {
        return jobs != null ? jobs : 0;
    }

    /** Refuses resource keys this strategy cannot honour, naming {@code field}; local strategies check none here. */
    void checkResources(JobResources resources, String field) {
        if (this == KUBERNETES) {
            resources.checkForKubernetes(field);
        } else if (isSlurm()) {
            resources.checkForSlurm(field);
        }
    }

    /**
     * Checks each group's resources (tasks' own merged over the run's) as the run's are checked, naming the first
     * task of the group. Local strategies ignore tasks' own resources (as they ignore escalate): the same list runs
     * locally while it is tried out, and `drover validate` says so.
     */
    void checkGroups(ResourceGroups groups) {
        if (isLocal() || !groups.perTask()) {
            return;
        }
        for (int g = 0; g < groups.size(); g++) {
            String field = "tasks[" + groups.firstTask(g) + "].jobResources";
            try {
                checkResources(groups.resources(g), field);
                if (this == KUBERNETES) {
                    KubernetesTerms.from(groups.resources(g));
                }
            } catch (ManifestException e) {
                throw e.field().equals(JobResources.FIELD) ? new ManifestException(field, e.problem()) : e;
            }
        }
    }

    /** This strategy's part of {@link RunPlan#describe}, after the task count and the strategy's name. */
    abstract String describe(RunPlan plan);

    // (not private: the constants' bodies are subclasses, and call these on themselves)
    final void refuseResources(JobResources resources) {
        if (!resources.isEmpty()) {
            throw new ManifestException(JobResources.FIELD, "is not used by the " + this + " strategy: remove it, or"
                    + " choose slurm, slurm+batching or kubernetes");
        }
    }

    final void requireResources(Manifest manifest, JobResources resources) {
        if (resources.isEmpty() && manifest.tasks().resourceSets().size() == 1) {
            throw new ManifestException(JobResources.FIELD, "is required for " + this
                    + ", e.g. --job-resources mem=1G,time=00:10:00,partition=cpu");
        }
    }

    private static void refuseBatchSize(JobResources resources) {
        if (resources.has(JobResources.BATCH_SIZE)) {
            throw new ManifestException(JobResources.FIELD, "batch-size only applies to slurm+batching (tasks per"
                    + " SLURM job) and kubernetes (tasks per Job): remove it, or choose one of those strategies");
        }
    }

    public String cliName() {
        return cliName;
    }

    /** The endpoint this strategy's batches are sent to; null when each run has a lane of its own. */
    public String lane() {
        return lane;
    }

    /** Each run has a lane of its own, opened when it is fed (the multiprocessing lanes, see LocalLanes). */
    public boolean isLaneOfItsOwn() {
        return lane == null;
    }

    public boolean isSlurm() {
        return SLURM_LANE.equals(lane);
    }

    /** The tasks run on a cluster that keeps them running while drover is away (re-attached after a restart). */
    public boolean isCluster() {
        return !isLocal();
    }

    public boolean isLocal() {
        return this == MULTIPROCESSING || this == SEQUENTIAL;
    }

    public static Strategy of(String name, String field) {
        for (Strategy s : values()) {
            if (s.cliName.equalsIgnoreCase(name.trim())) {
                return s;
            }
        }
        throw new ManifestException(field, "unknown strategy '" + name + "'; choose one of " + names());
    }

    public static String names() {
        return Arrays.stream(values()).map(Strategy::cliName).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return cliName;
    }

    /** Lanes shared by several strategies (an enum constant cannot refer to a static field of its own type). */
    static final class Lanes {
        static final String SLURM_LANE = "direct:lane-slurm";

        private Lanes() {
        }
    }
}
