package dev.drover.cli;

import dev.drover.camel.DroverRuntime;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.Planner;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.report.Rerun;
import dev.drover.run.Run;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;

/** `drover rerun`: a new run of some tasks of a finished run, in the foreground as drover run does. */
@Command(name = "rerun", mixinStandardHelpOptions = true,
        description = {"Run some tasks of a finished run again, as a new run in the foreground (as drover run): the"
                + " same task ids, commands, environment and settings, resources overridable. Its report.json has"
                + " rerunOf: RUN_ID, and drover status shows the chain.",
                "Default: the failed and cancelled tasks. Exit codes as drover run."})
final class RerunCommand implements Callable<Integer> {

    @Option(names = "--failed", description = "Its failed tasks.")
    boolean failed;

    @Option(names = "--cancelled", description = "Its cancelled tasks.")
    boolean cancelled;

    @Option(names = "--tasks", split = ",", paramLabel = "ID", description = "These tasks, by id, whatever their state.")
    List<String> tasks = new ArrayList<>();

    @Option(names = "--job-resources", paramLabel = "K=V[,K=V]",
            description = "Resources for the rerun (default: the original run's), e.g. mem=4G,time=2:00:00.")
    String jobResources;

    @Option(names = {"-j", "--jobs"}, paramLabel = "N", description = "As drover run --jobs (default: the original's).")
    Integer jobs;

    @Mixin
    RunArgument run;

    @Override
    public Integer call() throws Exception {
        long started = System.nanoTime();
        Path runDir = run.finishedDir();
        String runId = run.id;
        Set<String> states = new TreeSet<>();
        if (failed || tasks.isEmpty() && !cancelled) {
            states.add("FAILED");
        }
        if (cancelled || tasks.isEmpty() && !failed) {
            states.add("CANCELLED");
        }
        String manifest = Rerun.manifest(runDir, states, tasks);
        // the tasks come from a run drover accepted: no intake size limit applies to their list again
        RunPlan plan = RunPlan.resolve(ManifestReader.parse(manifest, Long.MAX_VALUE),
                new RunOptions(null, jobs, jobResources));
        Planner.forInstalledLanes().checkAvailable(plan.strategy());
        try (DroverRuntime runtime = DroverRuntime.start(DroverRuntime.home(), Map.of("drover.runs-dir",
                run.runsDir().toString()))) {
            System.out.printf("rerun of %s: %d task%s%n", runId, plan.taskCount(), plan.taskCount() == 1 ? "" : "s");
            return Foreground.follow(() -> {
                Run rerun = runtime.record(plan);
                // before the run is fed, so before any task runs or the report is written
                Rerun.link(rerun.dir(), runId);
                return rerun;
            }, runtime::feed, started);
        }
    }
}
