package dev.drover.cli;

import dev.drover.camel.DroverRuntime;
import dev.drover.serve.ServeBeans;
import dev.drover.run.Settings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** `drover serve`: a daemon that runs every manifest dropped into a folder or sent to a queue. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Run each manifest dropped into a folder (--inbox) and/or sent to a JMS queue on ActiveMQ"
                + " Artemis (--queue, or drover.queue.url in the configuration); both at once work.",
                "Drop folder: write a manifest elsewhere, then rename it into the folder (drover submit --inbox"
                        + " does). Finished manifests move to DIR/.done or DIR/.failed; invalid ones to DIR/.error"
                        + " with NAME.error.txt giving the reason.",
                "Queue: a message is committed once its run is recorded on disk; invalid manifests go to the error"
                        + " queue (drover.queue.errors) with the reason in the DroverError property. Run events"
                        + " (JSON) go to drover.events.destination.",
                "Health and metrics: http://HOST:PORT/observe/health and /observe/metrics (Prometheus)."})
final class ServeCommand implements Callable<Integer> {

    static final String QUEUE_ROUTE = "intake-queue";

    @Option(names = "--inbox", paramLabel = "DIR", description = "A drop folder to watch.")
    Path inbox;

    @Option(names = "--queue", paramLabel = "URL",
            description = "The Artemis broker to take manifests from, e.g. tcp://localhost:61616 (default:"
                    + " drover.queue.url). User and password: drover.queue.user/password or DROVER_QUEUE_USER/"
                    + "DROVER_QUEUE_PASSWORD.")
    String queue;

    @Option(names = "--queue-name", paramLabel = "NAME",
            description = "The queue to take manifests from (default: drover.queue.manifests, drover.manifests).")
    String queueName;

    @Option(names = "--runs-dir", paramLabel = "DIR",
            description = "Where run directories go (default: drover.runs-dir in config/application.properties).")
    Path runsDir;

    @Option(names = "--observe-port", paramLabel = "PORT",
            description = "Port of /observe/health and /observe/metrics (default: drover.observe.port, 9876).")
    Integer observePort;

    @Option(names = "--no-observe", description = "Serve no health and metrics endpoints.")
    boolean noObserve;

    @Option(names = "--allow-duplicate",
            description = "Run a manifest again even if the same content was accepted before (default: give back"
                    + " the earlier run, so a redelivered or left-over manifest never runs twice).")
    boolean allowDuplicate;

    @Option(names = "--cancel-on-exit",
            description = "On SIGTERM, cancel the runs (tasks killed, reports say CANCELLED) instead of letting"
                    + " running tasks finish and resuming the runs at the next start.")
    boolean cancelOnExit;

    @Option(names = {"-D", "--property"}, paramLabel = "KEY=VALUE",
            description = "Set a configuration property for this process, e.g. -D drover.queue.concurrent-runs=8.")
    Map<String, String> extraProperties = new HashMap<>();

    @Override
    public Integer call() throws Exception {
        DroverRuntime runtime = start();
        if (runtime == null) {
            return ErrorHandler.USAGE;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runtime.stopGracefully(cancelOnExit);
            } catch (Exception e) {
                System.err.println("drover: stopping: " + ErrorHandler.rootMessage(e));
            } finally {
                stopped.countDown();
            }
        }, "drover-stop"));
        stopped.await();
        return 0;
    }

    /** Starts serving; null (after saying why) when there is nothing to serve. The caller closes the runtime. */
    DroverRuntime start() throws Exception {
        Map<String, String> overrides = new HashMap<>();
        overrides.put("drover.serve", "true");
        if (inbox != null) {
            overrides.put("drover.inbox", inbox.toAbsolutePath().toString());
        }
        if (queue != null) {
            overrides.put("drover.queue.url", queue);
        }
        if (queueName != null) {
            overrides.put("drover.queue.manifests", queueName);
        }
        if (runsDir != null) {
            overrides.put("drover.runs-dir", runsDir.toAbsolutePath().toString());
        }
        overrides.put("drover.observe.enabled", Boolean.toString(!noObserve));
        if (observePort != null) {
            overrides.put("drover.observe.port", observePort.toString());
        }
        if (allowDuplicate) {
            overrides.put("drover.intake.deduplicate", "false");
        }
        overrides.putAll(extraProperties);
        if (!noObserve && !observePortFree(overrides)) {
            return null;
        }
        DroverRuntime runtime = DroverRuntime.start(DroverRuntime.home(), overrides);
        String url = Objects.requireNonNullElse(Settings.of(runtime.context()).optional("drover.queue.url"), "");
        if (inbox == null && url.isEmpty()) {
            runtime.close();
            System.err.println("drover: serve needs --inbox DIR, --queue URL (or drover.queue.url), or both");
            return null;
        }
        if (!runsDirUsable(runtime.runs().runsDir())) {
            runtime.close();
            return null;
        }
        // Recovery first, then the intakes: a manifest a crash left in the inbox finds its run already rebuilt.
        for (var run : runtime.runs().recoverUnfinished()) {
            runtime.feed(run).whenComplete((fed, error) -> {
                if (error != null) {
                    System.err.println("drover: recovered run " + run.id() + " could not be resumed: "
                            + ErrorHandler.rootMessage(error));
                }
            });
        }
        if (inbox != null) {
            runtime.context().getRouteController().startRoute("intake-file");
            ServeBeans.inboxStarted(runtime.context(), inbox.toAbsolutePath());
        }
        if (!url.isEmpty()) {
            runtime.context().getRouteController().startRoute(QUEUE_ROUTE);
        }
        StringBuilder what = new StringBuilder("drover: serving");
        if (inbox != null) {
            what.append(" folder ").append(inbox.toAbsolutePath());
        }
        if (!url.isEmpty()) {
            what.append(inbox != null ? " and" : "").append(" queue ")
                    .append(runtime.context().resolvePropertyPlaceholders("{{drover.queue.manifests}}"))
                    .append(" at ").append(url);
        }
        what.append("; runs in ").append(runtime.runs().runsDir());
        if (!noObserve) {
            what.append("; health and metrics on port ")
                    .append(runtime.context().resolvePropertyPlaceholders("{{drover.observe.port}}"));
        }
        System.err.println(what);
        return runtime;
    }

    /**
     * Whether run directories can be made in the runs directory (made if missing): found out at start, in one line,
     * rather than from every manifest failing (a queued one rolled back and redelivered without end).
     */
    private static boolean runsDirUsable(Path runsDir) {
        try {
            Files.createDirectories(runsDir);
            Files.delete(Files.createTempDirectory(runsDir, ".drover-start-"));
            return true;
        } catch (FileSystemException e) {
            System.err.println("drover: cannot make run directories in " + runsDir + " (" + ErrorHandler.reason(e)
                    + "): choose another with --runs-dir DIR");
        } catch (IOException e) {
            System.err.println("drover: cannot make run directories in " + runsDir + " (" + ErrorHandler.rootMessage(e)
                    + "): choose another with --runs-dir DIR");
        }
        return false;
    }

    /**
     * Whether the health and metrics port can be had: taken, the HTTP server would log a stack trace and serve
     * nothing, and probes would reach whatever holds the port. Checked by binding it (as the server will, on every
     * address) and letting go.
     */
    private static boolean observePortFree(Map<String, String> overrides) {
        String port = overrides.containsKey("drover.observe.port") ? overrides.get("drover.observe.port")
                : Settings.load(DroverRuntime.home()).text("drover.observe.port");
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress(Integer.parseInt(port)));
            return true;
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("drover: cannot serve health and metrics on port " + port + " (" + e.getMessage()
                    + "): choose another with --observe-port PORT, or serve none with --no-observe");
            return false;
        }
    }
}
