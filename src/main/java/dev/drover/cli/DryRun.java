package dev.drover.cli;

import dev.drover.camel.DroverRuntime;
import dev.drover.run.Settings;
import dev.drover.kubernetes.KubeSettings;
import dev.drover.kubernetes.KubernetesDryRun;
import dev.drover.manifest.Manifest;
import dev.drover.manifest.TaskSource;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.ResourceGroups;
import dev.drover.plan.RunPlan;
import dev.drover.plan.Strategy;
import dev.drover.slurm.ArrayJob;
import dev.drover.slurm.ArrayLayout;
import dev.drover.slurm.SbatchScript;
import dev.drover.slurm.SlurmCommands;
import dev.drover.slurm.SlurmLimits;
import dev.drover.slurm.SlurmSettings;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.io.IOException;
import java.io.PrintStream;
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
        if (plan.strategy() == Strategy.KUBERNETES) {
            KubeSettings kube = KubeSettings.from(settings);
            for (int g = 0; g < plan.groups().size(); g++) {
                List<Path> files = KubernetesDryRun.write(groupPlan(plan, g), runId, runDir, kube.ttlSeconds(),
                        kube.tasksPerJob());
                out.println(groupHeading(plan, g) + files.size() + " Indexed Job" + (files.size() == 1 ? "" : "s")
                        + " (each file: the ConfigMap with the task table, then the Job); nothing was created:");
                files.forEach(file -> out.println("  " + file));
            }
            out.flush();
            return 0;
        }
        // the real lane's layout: same groups, elements, MaxArraySize, keys, folders and scripts
        int maxArraySize = maxArraySize(settings);
        SlurmSettings slurm = SlurmSettings.from(settings); // once: read per array it was a fifth of a 10^6 dry run
        Files.createDirectories(runDir.resolve("logs"));
        int key = 0;
        for (int g = 0; g < plan.groups().size(); g++) {
            List<List<List<TaskSpec>>> arrays = ArrayLayout.arrays(ArrayLayout.elements(groupPlan(plan, g)),
                    maxArraySize);
            out.println(groupHeading(plan, g) + "MaxArraySize " + maxArraySize + ": " + arrays.size() + " sbatch call"
                    + (arrays.size() == 1 ? "" : "s") + "; nothing was submitted. Scripts:");
            for (List<List<TaskSpec>> elements : arrays) {
                ArrayJob job = ArrayLayout.array(runId, runDir, plan, ArrayLayout.key(++key), elements, 1);
                ArrayLayout.writeScript(job, runDir, plan, plan.groups().resources(g), slurm);
                out.println("  " + job.script() + "    (sbatch " + String.join(" ", SbatchScript.sbatchArgs(job)) + ")");
            }
        }
        out.flush();
        return 0;
    }

    /** MaxArraySize as the SLURM lane reads it (the configured cap, else the cluster's, else SLURM's default). */
    static int maxArraySize(Settings settings) {
        SlurmSettings slurm = SlurmSettings.from(settings);
        return new SlurmLimits(slurm, new SlurmCommands(slurm.commandTimeout(), new SimpleMeterRegistry()))
                .maxArraySize();
    }

    /** "group 2 of 3 (mem=4G,time=10): 12 tasks; " when tasks have resources of their own, else nothing. */
    static String groupHeading(RunPlan plan, int group) {
        ResourceGroups groups = plan.groups();
        return !groups.perTask() ? "" : "group " + (group + 1) + " of " + groups.size() + " ("
                + groups.resources(group).schedulerValues() + "): " + groups.taskCount(group) + " task"
                + (groups.taskCount(group) == 1 ? "" : "s") + "; ";
    }

    /** One line per resource group for `drover validate`: its signature, its tasks, the arrays or Jobs it makes. */
    static void printGroups(RunPlan plan, Settings settings, PrintStream out) {
        if (!plan.groups().perTask() || plan.strategy().isLocal()) {
            return;
        }
        int perElement = ArrayLayout.tasksPerElement(plan);
        // not asked of the cluster (scontrol waits out an unreachable controller): `run --dry-run` asks
        int configured = SlurmSettings.from(settings).maxArraySize();
        int maxArraySize = configured > 0 ? configured : SlurmLimits.DEFAULT_MAX_ARRAY_SIZE;
        out.println(plan.groups().size() + " resource groups" + (plan.strategy().isSlurm() ? ", arrays of at most "
                + maxArraySize + " elements (" + (configured > 0 ? "drover.slurm.max-array-size" : "SLURM's default"
                + " MaxArraySize; run --dry-run asks the cluster") + ")" : "") + ":");
        for (int g = 0; g < plan.groups().size(); g++) {
            String units;
            if (plan.strategy().isSlurm()) {
                int elements = (plan.groups().taskCount(g) + perElement - 1) / perElement;
                int arrays = (elements + maxArraySize - 1) / maxArraySize;
                units = arrays + " array" + (arrays == 1 ? "" : "s") + (perElement > 1 ? " of " + elements
                        + " SLURM jobs" : "");
            } else {
                int jobs = plan.batchCount(g);
                units = jobs + " Indexed Job" + (jobs == 1 ? "" : "s");
            }
            out.println("  " + groupHeading(plan, g) + units);
        }
    }

    /**
     * The plan of one resource group alone: its tasks (with their manifest indices) and its resources, so that each
     * group's arrays or Jobs are written with their own requests and limits.
     */
    private static RunPlan groupPlan(RunPlan plan, int group) {
        if (plan.groups().size() == 1) {
            return new RunPlan(plan.manifest(), plan.strategy(), plan.jobs(), plan.groups().resources(0),
                    plan.batchSize());
        }
        TaskSource all = plan.manifest().tasks();
        int[] members = plan.groups().tasks(group);
        TaskSource tasks = new TaskSource() { // built as they are written: a group may hold a million tasks
            @Override
            public int size() {
                return members.length;
            }

            @Override
            public TaskSpec task(int index) {
                return all.task(members[index]);
            }
        };
        Manifest m = plan.manifest();
        Manifest only = new Manifest(m.name(), tasks, m.strategy(), m.jobs(), m.jobResources(), m.env(), m.workdir(),
                m.retries(), m.timeout(), m.text(), m.sha256(), m.image(), m.escalate());
        return new RunPlan(only, plan.strategy(), plan.jobs(), plan.groups().resources(group), plan.batchSize());
    }
}
