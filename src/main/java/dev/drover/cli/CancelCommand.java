package dev.drover.cli;

import dev.drover.run.RunRegistry;
import dev.drover.run.RunReport;
import dev.drover.serve.RunStatus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.Callable;

/** `drover cancel`: ask the drover that owns a run to cancel it, and wait until it has. */
@Command(name = "cancel", mixinStandardHelpOptions = true,
        description = {"Cancel a run of a drover serve (or drover run) working in the same runs directory: creates"
                + " RUNS_DIR/RUN_ID/" + RunRegistry.CANCEL_REQUEST + ", which that drover notices within a second;"
                + " tasks not started are cancelled, running ones are stopped.",
                "Exit 0 once report.json says CANCELLED; 1 if the run finished otherwise or did not stop within"
                        + " --timeout (the request stays); 2 if there is no such run."})
final class CancelCommand implements Callable<Integer> {

    @Mixin
    RunArgument run;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "60",
            description = "How long to wait for the run to stop (default: ${DEFAULT-VALUE}); 0 = do not wait.")
    int timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        Path runDir = run.dir();
        String runId = run.id;
        RunStatus before = RunStatus.read(runDir);
        if (before.finished()) {
            System.out.println("run " + runId + " had already finished: " + summary(before));
            return before.state().equals("CANCELLED") ? 0 : 1;
        }
        try {
            Files.writeString(runDir.resolve(RunRegistry.CANCEL_REQUEST),
                    "requested by drover cancel at " + Instant.now() + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE_NEW);
        } catch (FileAlreadyExistsException again) {
            // asked before: wait all the same
        }
        if (timeoutSeconds <= 0) {
            System.out.println("cancel requested for run " + runId);
            return 0;
        }
        long deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (Files.exists(runDir.resolve(RunReport.FILE))) {
                RunStatus after = RunStatus.read(runDir);
                System.out.println("run " + runId + " " + summary(after));
                return after.state().equals("CANCELLED") ? 0 : 1;
            }
            Thread.sleep(200);
        }
        System.err.println("drover: run " + runId + " has not stopped within " + timeoutSeconds + "s; the request stays"
                + " in " + runDir.resolve(RunRegistry.CANCEL_REQUEST) + " (is a drover serving " + run.runsDir()
                + "?)");
        return 1;
    }

    private static String summary(RunStatus run) {
        Map<String, Integer> c = run.counts();
        return run.state() + ": " + c.get("succeeded") + " succeeded, " + c.get("failed") + " failed, "
                + c.get("cancelled") + " cancelled; report " + run.report();
    }
}
