package dev.drover.cli;

import dev.drover.camel.DroverRuntime;
import dev.drover.plan.Planner;
import dev.drover.plan.RunPlan;
import dev.drover.run.Settings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

/** `drover validate`: parse and check a manifest with its flags, print the plan, run nothing. */
@Command(name = "validate", mixinStandardHelpOptions = true,
        description = "Check a manifest and its flags and print the resolved plan; runs nothing."
                + " Exit 0 if valid, 2 if not.")
final class ValidateCommand implements Callable<Integer> {

    @Mixin
    PlanOptions options;

    @Override
    public Integer call() {
        RunPlan plan = options.resolve();
        Planner.forInstalledLanes().checkAvailable(plan.strategy());
        System.out.println("valid: " + plan.describe());
        DryRun.printGroups(plan, Settings.load(DroverRuntime.home()), System.out);
        if (!plan.strategy().isCluster() && !plan.manifest().escalate().equals(dev.drover.manifest.Escalate.DEFAULT)) {
            System.out.println("note: escalate has no effect on " + plan.strategy().cliName()
                    + " (it grows cluster resources after OUT_OF_MEMORY or TIMEOUT)");
        }
        if (!plan.strategy().isCluster() && plan.groups().perTask()) {
            System.out.println("note: the tasks' own jobResources have no effect on " + plan.strategy().cliName()
                    + " (local tasks share this machine; they shape SLURM arrays and Kubernetes Jobs)");
        }
        return 0;
    }
}
