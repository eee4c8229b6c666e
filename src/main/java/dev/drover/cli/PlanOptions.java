package dev.drover.cli;

import dev.drover.camel.DroverRuntime;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.manifest.JobResources;
import dev.drover.run.Settings;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;

/** The manifest and the flags that shape its run; shared by `run` and `validate`. */
final class PlanOptions {

    @Parameters(index = "0", paramLabel = "MANIFEST", description = "Task manifest, JSON or YAML.")
    Path manifest;

    @Option(names = "--distribution-strategy", paramLabel = "STRATEGY",
            description = "Where tasks run: slurm, slurm+batching, kubernetes, multiprocessing, sequential."
                    + " Default: the manifest's 'strategy', else multiprocessing.")
    String strategy;

    @Option(names = {"-j", "--jobs"}, paramLabel = "N",
            description = "multiprocessing: tasks at once (default: number of CPUs). slurm: array tasks running at"
                    + " once. slurm+batching: number of SLURM jobs. Not for sequential.")
    Integer jobs;

    @Option(names = "--job-resources", paramLabel = "K=V[,K=V]",
            description = "Scheduler resources as key=value pairs or a JSON object, e.g. mem=10M,time=00:05:00,"
                    + "partition=cpu. Keys: ${COMPLETION-CANDIDATES}; batch-size for slurm+batching."
                    + " Required for slurm and slurm+batching.",
            completionCandidates = ResourceKeys.class)
    String jobResources;

    RunPlan resolve() {
        return RunPlan.resolve(ManifestReader.read(manifest, manifestMaxBytes()),
                new RunOptions(strategy, jobs, jobResources));
    }

    /** drover.manifest.max-bytes as `drover serve` would apply it. */
    static long manifestMaxBytes() {
        return Settings.load(DroverRuntime.home()).manifestMaxBytes();
    }

    /** The resource keys, for the help text. */
    static final class ResourceKeys extends ArrayList<String> {
        ResourceKeys() {
            super(JobResources.schedulerKeys());
        }
    }
}
