package dev.drover.cli;

import dev.drover.camel.DroverRuntime;
import dev.drover.run.Settings;
import dev.drover.kubernetes.KubeSettings;
import dev.drover.kubernetes.KubernetesDryRun;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.RunPlan;
import dev.drover.slurm.ArrayJob;
import dev.drover.slurm.ArrayLayout;
import dev.drover.slurm.SbatchScript;
import dev.drover.slurm.SlurmCommands;
import dev.drover.slurm.SlurmLimits;
import dev.drover.slurm.SlurmSettings;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;

/**
 * `drover run --dry-run`: shows what a run would do and starts nothing. For the SLURM strategies it writes the sbatch
 * scripts the run would submit (same chunking by MaxArraySize, same script) into a new run directory and prints
 * their paths; for kubernetes the Job and ConfigMap YAML; for the local strategies it prints the plan and the
 * commands.
 */
final class DryRun {

    private static final int SHOWN_COMMANDS = 20;

    private DryRun() {
    }

    static int print(RunPlan plan, Path runsDirOption, PrintWriter out) throws IOException {
        out.println("dry run: " + plan.describe());
        if (plan.strategy().isLocal()) {
            int shown = Math.min(plan.taskCount(), SHOWN_COMMANDS);
            for (int i = 0; i < shown; i++) {
                TaskSpec task = plan.manifest().tasks().task(i);
                out.println("  " + task.id() + ": " + String.join(" ", task.command()));
            }
            if (shown < plan.taskCount()) {
                out.println("  ... and " + (plan.taskCount() - shown) + " more");
            }
            out.println("nothing was run");
            out.flush();
            return 0;
        }
        Settings settings = Settings.load(DroverRuntime.home());
        Path runsDir = runsDirOption != null ? runsDirOption : settings.runsDir();
        String runId = plan.manifest().name() + "-dryrun-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path runDir = runsDir.resolve(runId).toAbsolutePath();
        if (plan.strategy() == dev.drover.plan.Strategy.KUBERNETES) {
            List<Path> files = KubernetesDryRun.write(plan, runDir, KubeSettings.from(settings));
            out.println(files.size() + " Indexed Job" + (files.size() == 1 ? "" : "s")
                    + " (each file: the ConfigMap with the task table, then the Job); nothing was created:");
            files.forEach(file -> out.println("  " + file));
            out.flush();
            return 0;
        }
        // the real lane's layout: same elements, MaxArraySize, keys, folders and scripts
        SlurmSettings slurm = SlurmSettings.from(settings);
        int maxArraySize = new SlurmLimits(slurm, new SlurmCommands(slurm.commandTimeout(), new SimpleMeterRegistry()))
                .maxArraySize();
        List<List<List<TaskSpec>>> arrays = ArrayLayout.arrays(ArrayLayout.elements(plan),
                maxArraySize);
        Files.createDirectories(runDir.resolve("logs"));
        out.println("MaxArraySize " + maxArraySize + ": " + arrays.size() + " sbatch call"
                + (arrays.size() == 1 ? "" : "s") + "; nothing was submitted. Scripts:");
        for (int a = 0; a < arrays.size(); a++) {
            ArrayJob job = ArrayLayout.array(runId, runDir, plan, ArrayLayout.key(a + 1), arrays.get(a), 1);
            ArrayLayout.writeScript(job, runDir, plan);
            out.println("  " + job.script() + "    (sbatch " + String.join(" ", SbatchScript.sbatchArgs(job)) + ")");
        }
        out.flush();
        return 0;
    }
}
