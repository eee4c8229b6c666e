package dev.drover.cli;

import dev.drover.camel.DroverRuntime;
import dev.drover.plan.Planner;
import dev.drover.plan.RunPlan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** `drover run`: run one manifest in the foreground, with progress, and exit by its outcome. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run a manifest in the foreground. Exit 0 when all tasks succeed, 1 when any fails,"
                + " 2 for a bad manifest or flag (nothing runs), 130 when interrupted.")
final class RunCommand implements Callable<Integer> {

    @Mixin
    PlanOptions options;

    @Option(names = "--runs-dir", paramLabel = "DIR",
            description = "Where run directories go (default: drover.runs-dir in config/application.properties).")
    Path runsDir;

    @Option(names = "--dry-run", description = "Run nothing: print the plan; for slurm and slurm+batching also write"
            + " the sbatch scripts, for kubernetes the Job and ConfigMap YAML, into a run directory and print their"
            + " paths.")
    boolean dryRun;

    @Option(names = "--kube-context", paramLabel = "CONTEXT",
            description = "kubernetes: the kubeconfig context to use (default: drover.kubernetes.context, else the"
                    + " current context).")
    String kubeContext;

    @Option(names = "--kube-namespace", paramLabel = "NAMESPACE",
            description = "kubernetes: the namespace for the Jobs when --job-resources gives none (default:"
                    + " drover.kubernetes.namespace, else the context's namespace, else default).")
    String kubeNamespace;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        RunPlan plan = options.resolve();
        Planner.forInstalledLanes().checkAvailable(plan.strategy());
        if (dryRun) {
            return DryRun.print(plan, runsDir, spec.commandLine().getOut());
        }
        Map<String, String> overrides = new HashMap<>();
        overrides.put("drover.runs-dir", RunsDirOption.create(runsDir).toString());
        if (kubeContext != null) {
            overrides.put("drover.kubernetes.context", kubeContext);
        }
        if (kubeNamespace != null) {
            overrides.put("drover.kubernetes.namespace", kubeNamespace);
        }
        long started = System.nanoTime();
        try (DroverRuntime runtime = DroverRuntime.start(DroverRuntime.home(), overrides)) {
            return Foreground.follow(() -> runtime.record(plan), runtime::feed, started);
        }
    }
}
