package dev.drover.camel;

import dev.drover.cluster.ClusterLanes;
import dev.drover.local.LocalLanes;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.main.Main;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Starts drover's Camel pipeline with camel-main: the routes of {@code <home>/routes}, the properties of
 * {@code <home>/config/application.properties} (overridable per command), and the beans of
 * {@link DroverConfiguration}.
 */
public final class DroverRuntime implements AutoCloseable {

    /** Where a manifest (text) or a resolved plan becomes a durable run; it answers with the run. */
    static final String RECORD_RUN = "direct:record-run";
    /**
     * Where a recorded run's tasks are fed to its lane (routes/accept.camel.yaml); a caller waits, without SEDA's
     * 30 s limit, until all are fed.
     */
    static final String FEED_RUN = "seda:feed-run?timeout=0";

    private final Main main;
    private final ProducerTemplate producer;

    private DroverRuntime(Main main) throws Exception {
        this.main = main;
        main.start();
        this.producer = main.getCamelContext().createProducerTemplate();
        // A caller waits on feed() for as long as the run is fed (a sequential run: the whole run): the template's
        // default pool would queue the eleventh such wait behind the first ten.
        ((org.apache.camel.impl.engine.DefaultProducerTemplate) producer).setExecutorService(main.getCamelContext()
                .getExecutorServiceManager().newCachedThreadPool(this, "drover-feed-wait"));
    }

    /**
     * @param home      the installation: the folder holding routes/ and config/
     * @param overrides property values that win over the configuration file (command-line flags)
     */
    public static DroverRuntime start(Path home, Map<String, String> overrides) throws Exception {
        Main main = new Main();
        main.setPropertyPlaceholderLocations("file:" + home.resolve("config/application.properties"));
        main.configure().withRoutesIncludePattern("file:" + home.resolve("routes") + "/*.camel.yaml");
        overrides.forEach(main::addOverrideProperty);
        main.configure().addConfiguration(new DroverConfiguration());
        return new DroverRuntime(main);
    }

    /** The installation folder: DROVER_HOME, else the folder above target/drover.jar, else the working directory. */
    public static Path home() {
        String env = System.getenv("DROVER_HOME");
        if (env != null && !env.isBlank()) {
            return Path.of(env).toAbsolutePath();
        }
        try {
            Path jar = Path.of(DroverRuntime.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (Path dir = jar.getParent(); dir != null; dir = dir.getParent()) {
                if (Files.isDirectory(dir.resolve("routes")) && Files.isDirectory(dir.resolve("config"))) {
                    return dir;
                }
            }
        } catch (Exception ignored) {
            // fall through to the working directory
        }
        return Path.of("").toAbsolutePath();
    }

    public CamelContext context() {
        return main.getCamelContext();
    }

    public RunRegistry runs() {
        return context().getRegistry().lookupByNameAndType("runs", RunRegistry.class);
    }

    /**
     * Makes a manifest (text) or a resolved plan a durable run and returns it, before any task is fed; a Run (one
     * rebuilt by recovery) comes back as it is.
     */
    public Run record(Object manifestOrPlan) {
        return producer.requestBody(RECORD_RUN, manifestOrPlan, Run.class);
    }

    /** Feeds a recorded run's tasks to its lane; completes when all are fed, or with why not (the run is cancelled). */
    public CompletableFuture<Run> feed(Run run) {
        return producer.asyncRequestBody(FEED_RUN, run, Run.class);
    }

    /**
     * Stops a daemon: intakes first (no new manifest is taken), then either cancels the runs, or lets running local
     * tasks finish for up to drover.serve.shutdown-timeout seconds and kills the rest, which the next start runs
     * again; then the pipeline.
     */
    public void stopGracefully(boolean cancelRuns) throws Exception {
        // In-flight intake exchanges wait for runs that now stop or resume at the next start: waiting for them only
        // delays the exit, and a file whose run is unfinished is rolled back into the inbox either way.
        org.apache.camel.spi.ShutdownStrategy shutdown = context().getShutdownStrategy();
        for (org.apache.camel.Route route : context().getRoutes()) {
            if (route.getRouteId().startsWith("intake-")) {
                context().getRouteController().stopRoute(route.getRouteId(), 1, java.util.concurrent.TimeUnit.SECONDS);
            }
        }
        java.time.Duration timeout = java.time.Duration.ofSeconds(Long.parseLong(
                context().resolvePropertyPlaceholders("{{drover.serve.shutdown-timeout}}")));
        if (cancelRuns) {
            runs().cancelAll(timeout);
        } else {
            context().getRegistry().lookupByNameAndType("localRunner", dev.drover.local.LocalTaskRunner.class)
                    .stopAll(timeout);
        }
        shutdown.setTimeout(1);
        shutdown.setTimeUnit(java.util.concurrent.TimeUnit.SECONDS);
        close();
    }

    @Override
    public void close() throws Exception {
        context().getRegistry().lookupByNameAndType("localLanes", LocalLanes.class).shutdown();
        context().getRegistry().lookupByNameAndType("clusterLanes", ClusterLanes.class).close();
        producer.close();
        dev.drover.local.LocalTaskRunner localRunner =
                context().getRegistry().lookupByNameAndType("localRunner", dev.drover.local.LocalTaskRunner.class);
        try {
            main.stop();
        } finally {
            localRunner.close(); // after the lanes stopped: no task starts any more
        }
    }
}
