package dev.drover.cli;

import dev.drover.camel.DroverRuntime;
import dev.drover.plan.Planner;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.RunReport;
import dev.drover.run.RunState;
import dev.drover.run.TaskState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/** `drover run`: run one manifest in the foreground, with progress, and exit by its outcome. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run a manifest in the foreground. Exit 0 when all tasks succeed, 1 when any fails,"
                + " 2 for a bad manifest or flag (nothing runs), 130 when interrupted.")
final class RunCommand implements Callable<Integer> {

    static final int CANCELLED = 130;

    @Mixin
    PlanOptions options;

    @Option(names = "--runs-dir", paramLabel = "DIR",
            description = "Where run directories go (default: drover.runs-dir in config, ./drover-runs).")
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
        if (runsDir != null) {
            overrides.put("drover.runs-dir", runsDir.toAbsolutePath().toString());
        }
        if (kubeContext != null) {
            overrides.put("drover.kubernetes.context", kubeContext);
        }
        if (kubeNamespace != null) {
            overrides.put("drover.kubernetes.namespace", kubeNamespace);
        }
        long started = System.nanoTime();
        try (DroverRuntime runtime = DroverRuntime.start(DroverRuntime.home(), overrides)) {
            CompletableFuture<Run> accepted = new CompletableFuture<>();
            runtime.runs().onAccepted(accepted::complete);
            Summary summary = new Summary();
            // Registered before the run exists, so that no SIGTERM can fall between acceptance and the hook.
            Thread interrupt = new Thread(() -> {
                Run run;
                try {
                    run = accepted.get(5, TimeUnit.SECONDS);
                } catch (Exception notAccepted) {
                    return; // nothing was recorded: nothing to cancel
                }
                run.cancel();
                awaitQuietly(run);
                summary.print(run, started);
                // The JVM would exit 143 for SIGTERM; the report now says CANCELLED, so exit as interrupted.
                Runtime.getRuntime().halt(CANCELLED);
            }, "drover-interrupt");
            Runtime.getRuntime().addShutdownHook(interrupt);
            try {
                CompletableFuture<Run> submitted = runtime.submitAsync(plan);
                Run run = awaitAccepted(accepted, submitted);
                try (Progress progress = Progress.start(run)) {
                    CompletableFuture.anyOf(run.finished(), submitted.exceptionally(e -> null)).get();
                    if (submitted.isCompletedExceptionally()) {
                        run.cancel(); // the pipeline broke while feeding tasks: stop what runs, keep the record
                        submitted.get();
                    }
                    run.finished().get();
                }
                summary.print(run, started);
                return exitCode(run.finished().get());
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(interrupt);
                } catch (IllegalStateException shuttingDown) {
                    // SIGTERM arrived as the run ended: the hook is running already
                }
            }
        }
    }

    private static Run awaitAccepted(CompletableFuture<Run> accepted, CompletableFuture<Run> submitted) throws Exception {
        while (true) {
            try {
                return accepted.get(50, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                if (submitted.isDone()) {
                    submitted.get(); // rethrows why the pipeline refused the manifest
                    return accepted.get();
                }
            }
        }
    }

    private static void awaitQuietly(Run run) {
        try {
            run.finished().get(30, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // the summary says what is known
        }
    }

    static int exitCode(RunState state) {
        return switch (state) {
            case SUCCEEDED -> 0;
            case CANCELLED -> CANCELLED;
            default -> 1;
        };
    }

    /** The one summary line, printed once, by the main thread or by the interrupt hook, whichever comes first. */
    private static final class Summary {
        private final AtomicBoolean claimed = new AtomicBoolean();
        private final java.util.concurrent.CountDownLatch printed = new java.util.concurrent.CountDownLatch(1);

        void print(Run run, long startedNanos) {
            if (!claimed.compareAndSet(false, true)) {
                try {
                    printed.await(2, TimeUnit.SECONDS); // the other thread is printing it: let it finish
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return;
            }
            try {
                RunState state = run.finished().getNow(RunState.RUNNING);
                double seconds = (System.nanoTime() - startedNanos) / 1e9;
                Path report = Path.of("").toAbsolutePath().relativize(run.dir().resolve(RunReport.FILE).toAbsolutePath());
                System.out.printf("run %s %s: %d succeeded, %d failed, %d cancelled in %.1fs; report %s%n", run.id(),
                        state, run.count(TaskState.SUCCEEDED), run.count(TaskState.FAILED),
                        run.count(TaskState.CANCELLED), seconds, report);
                System.out.flush();
            } finally {
                printed.countDown();
            }
        }
    }
}
