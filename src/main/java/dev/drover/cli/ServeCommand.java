package dev.drover.cli;

import dev.drover.camel.DroverRuntime;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** `drover serve`: a daemon that runs every manifest dropped into a folder. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Watch a drop folder and run each manifest put there (write it elsewhere, then rename it"
                + " into the folder). Finished manifests move to DIR/.done or DIR/.failed; invalid ones to"
                + " DIR/.error with NAME.error.txt giving the reason.")
final class ServeCommand implements Callable<Integer> {

    @Option(names = "--inbox", paramLabel = "DIR", required = true, description = "The drop folder to watch.")
    Path inbox;

    @Option(names = "--runs-dir", paramLabel = "DIR",
            description = "Where run directories go (default: drover.runs-dir in config, ./drover-runs).")
    Path runsDir;

    @Option(names = "--allow-duplicate",
            description = "Run a manifest again even if the same content was accepted before (default: give back"
                    + " the earlier run, so a redelivered or left-over manifest never runs twice).")
    boolean allowDuplicate;

    @Option(names = "--cancel-on-exit",
            description = "On SIGTERM, cancel the runs (tasks killed, reports say CANCELLED) instead of letting"
                    + " running tasks finish and resuming the runs at the next start.")
    boolean cancelOnExit;

    @Override
    public Integer call() throws Exception {
        Map<String, String> overrides = new HashMap<>();
        overrides.put("drover.inbox", inbox.toAbsolutePath().toString());
        overrides.put("drover.inbox.enabled", "true");
        if (runsDir != null) {
            overrides.put("drover.runs-dir", runsDir.toAbsolutePath().toString());
        }
        if (allowDuplicate) {
            overrides.put("drover.intake.deduplicate", "false");
        }
        CountDownLatch stopped = new CountDownLatch(1);
        DroverRuntime runtime = DroverRuntime.start(DroverRuntime.home(), overrides);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runtime.stopGracefully(cancelOnExit);
            } catch (Exception e) {
                System.err.println("drover: stopping: " + e);
            } finally {
                stopped.countDown();
            }
        }, "drover-stop"));
        for (var run : runtime.runs().recoverUnfinished()) {
            runtime.submitAsync(run);
        }
        System.err.println("drover: serving " + inbox.toAbsolutePath() + "; runs in " + runtime.runs().runsDir());
        stopped.await();
        return 0;
    }
}
