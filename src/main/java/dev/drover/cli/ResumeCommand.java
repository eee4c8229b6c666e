package dev.drover.cli;

import dev.drover.camel.DroverRuntime;
import dev.drover.run.Journal;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.RunReport;
import dev.drover.run.RunState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.Callable;

/** `drover resume`: carry on a run whose drover ended first (killed, rebooted, or hung up with a cluster run). */
@Command(name = "resume", mixinStandardHelpOptions = true,
        description = {"Carry on a run that a drover run or drover serve left unfinished, in the foreground as drover"
                + " run does: tasks that ended are not run again, SLURM arrays and Kubernetes Jobs still known to the"
                + " cluster are followed again (not resubmitted), local tasks that were running run again.",
                "Exit codes as drover run; for a run that had already finished, its own (0, 1 or 130); 2 if there is"
                        + " no such run or another drover is running it."})
final class ResumeCommand implements Callable<Integer> {

    @Mixin
    RunArgument run;

    @Override
    public Integer call() throws Exception {
        long started = System.nanoTime();
        run.dir(); // no such run: said before drover starts
        String runId = run.id;
        Path dir = run.runsDir();
        try (DroverRuntime runtime = DroverRuntime.start(DroverRuntime.home(),
                Map.of("drover.runs-dir", dir.toString()))) {
            Run resumed;
            try {
                resumed = runtime.runs().recover(runId);
            } catch (Journal.OwnedElsewhere live) {
                System.err.println("drover: run " + runId + " is being run by another drover process; follow it with"
                        + " drover status " + runId + " --runs-dir " + dir);
                return ErrorHandler.USAGE;
            }
            if (resumed == null) { // it has a journal (run.dir() saw it) but no readable plan
                throw new ErrorHandler.UserError("run " + runId + " cannot be resumed: its "
                        + RunRegistry.PLAN_FILE + " is missing or unreadable");
            }
            if (resumed.finished().isDone()) {
                RunState state = resumed.finished().get();
                System.out.printf("run %s had already finished %s: nothing to resume; report %s%n", runId, state,
                        resumed.dir().resolve(RunReport.FILE));
                return Foreground.exitCode(state);
            }
            // Handed over, not kept here: nothing may hold a large run's per-task state while its page is written.
            AtomicReference<Run> handedOver = new AtomicReference<>(resumed);
            resumed = null;
            return Foreground.follow(() -> handedOver.getAndSet(null), runtime::feed, started);
        }
    }
}
