package dev.drover.serve;

import dev.drover.manifest.ManifestParser;
import dev.drover.run.RunRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.component.jms.JmsComponent;
import org.apache.camel.spi.Registry;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The beans of `drover serve` beyond the core: the JMS connection to the broker (queue intake and run events),
 * the queue intake itself, and drover's own metrics. Called from DroverConfiguration; does nothing costly unless
 * serve asked for it ({@code drover.serve=true}), so `drover run` starts as fast as before.
 */
public final class ServeBeans {

    /** The bean the intake-queue route calls. */
    public static final String QUEUE_INTAKE = "queueIntake";
    private static final String METRICS = "droverMetrics";
    /** The bean of the intake-file route: which entries of the drop folder it may take, and its refusals. */
    public static final String INBOX = "inboxEntries";

    private ServeBeans() {
    }

    public static void bind(CamelContext context, RunRegistry runs) {
        Registry registry = context.getRegistry();
        boolean serve = Boolean.parseBoolean(property(context, "drover.serve", "false"));
        String url = property(context, "drover.queue.url", "");
        // The intake-queue route refers to this bean even when it is not started.
        QueueIntake intake = new QueueIntake(Integer.parseInt(property(context, "drover.queue.concurrent-runs", "4")));
        registry.bind(QUEUE_INTAKE, intake);
        // The intake-file route's filter and poll strategy, read before each poll of the drop folder.
        long quiet = Long.parseLong(property(context, "drover.inbox.read-lock-interval", "500"));
        registry.bind(INBOX, new InboxEntries(Path.of(property(context, "drover.inbox", "inbox")), quiet,
                Long.parseLong(property(context, "drover.inbox.empty-grace", "10000")),
                ManifestParser.maxBytes(property(context, ManifestParser.MAX_BYTES_KEY, ""))));
        JmsComponent jms = context.getComponent("jms", JmsComponent.class);
        QueueDepth queueDepth = null;
        RunEvents events = null;
        if (!serve || url.isBlank()) {
            jms.setConnectionFactory(new NoBroker());
        } else {
            String manifests = property(context, "drover.queue.manifests", "drover.manifests");
            String destination = property(context, "drover.events.destination", "");
            List<String> queues = new ArrayList<>(List.of(manifests,
                    property(context, "drover.queue.errors", "drover.manifests.error")));
            String eventsQueue = JmsEventSink.queueOf(destination);
            if (eventsQueue != null) {
                queues.add(eventsQueue);
            }
            BrokerConnection broker = new BrokerConnection(url, property(context, "drover.queue.user", ""),
                    property(context, "drover.queue.password", ""), queues);
            jms.setConnectionFactory(broker);
            queueDepth = new QueueDepth(context, broker, manifests);
            intake.enable();
            QueueHealthCheck health = new QueueHealthCheck("intake-queue", url, broker);
            health.setCamelContext(context);
            org.apache.camel.health.HealthCheckRegistry checks =
                    org.apache.camel.health.HealthCheckRegistry.get(context);
            if (checks != null) {
                checks.register(health);
            }
            if (!destination.isBlank()) {
                events = new RunEvents(context, new EventOutbox(runs.runsDir()), new JmsEventSink(broker, destination),
                        Long.parseLong(property(context, "drover.events.progress-interval", "10")),
                        Boolean.parseBoolean(property(context, "drover.events.task-finished", "true")),
                        Integer.parseInt(property(context, "drover.events.backlog", Integer.toString(RunEvents.BACKLOG))));
                events.attach(runs);
                registry.bind("runEvents", events);
            }
        }
        if (Boolean.parseBoolean(property(context, "drover.observe.enabled", "false"))) {
            registry.bind(METRICS, DroverMetrics.bind(context, runs, queueDepth, events));
        }
    }

    /**
     * Called once the intake-file route watches the drop folder: adds drover_inbox_waiting when metrics are served.
     * (The route starts after recovery, well after the beans are made, so the folder is not known to be watched
     * before.)
     */
    public static void inboxStarted(CamelContext context, Path inbox) {
        DroverMetrics metrics = context.getRegistry().lookupByNameAndType(METRICS, DroverMetrics.class);
        if (metrics != null) {
            metrics.watchInbox(new InboxWaiting(context, inbox));
        }
    }

    static String property(CamelContext context, String key, String fallback) {
        return context.getPropertiesComponent().resolveProperty(key).map(String::trim).orElse(fallback);
    }
}
