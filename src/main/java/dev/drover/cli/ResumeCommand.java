package dev.drover.cli;

import dev.drover.camel.DroverRuntime;
import dev.drover.run.Journal;
import dev.drover.run.Run;
import dev.drover.run.RunReport;
import dev.drover.run.RunState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/** `drover resume`: carry on a run whose drover ended first (killed, rebooted, or hung up with a cluster run). */
@Command(name = "resume", mixinStandardHelpOptions = true,
        description = {"Carry on a run that a drover run or drover serve left unfinished, in the foreground as drover"
                + " run does: tasks that ended are not run again, SLURM arrays and Kubernetes Jobs still known to the"
                + " cluster are followed again (not resubmitted), local tasks that were running run again.",
                "Exit codes as drover run; for a run that had already finished, its own (0, 1 or 130); 2 if there is"
                        + " no such run or another drover is running it."})
final class ResumeCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "RUN_ID", description = "The run (see drover status).")
    String runId;

    @Mixin
    RunsDirOption runsDir;

    @Override
    public Integer call() throws Exception {
        long started = System.nanoTime();
        Path dir = runsDir.resolve();
        try (DroverRuntime runtime = DroverRuntime.start(DroverRuntime.home(),
                Map.of("drover.runs-dir", dir.toString()))) {
            Run run;
            try {
                run = runtime.runs().recover(runId);
            } catch (Journal.OwnedElsewhere live) {
                System.err.println("drover: run " + runId + " is being run by another drover process; follow it with"
                        + " drover status " + runId + " --runs-dir " + dir);
                return ErrorHandler.USAGE;
            }
            if (run == null) {
                System.err.println("drover: no run " + runId + " in " + dir + " (drover status --runs-dir " + dir
                        + " lists them)");
                return ErrorHandler.USAGE;
            }
            if (run.finished().isDone()) {
                RunState state = run.finished().get();
                System.out.printf("run %s had already finished %s: nothing to resume; report %s%n", run.id(), state,
                        run.dir().resolve(RunReport.FILE));
                return Foreground.exitCode(state);
            }
            return Foreground.follow(() -> run, runtime::feed, started);
        }
    }
}
