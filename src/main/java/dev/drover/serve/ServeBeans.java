package dev.drover.serve;

import dev.drover.run.RunRegistry;
import dev.drover.run.Settings;
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
        Settings settings = Settings.of(context);
        boolean serve = settings.flag("drover.serve");
        String url = settings.optional("drover.queue.url");
        // The intake-queue route refers to this bean even when it is not started.
        QueueIntake intake = new QueueIntake(settings.integer("drover.queue.concurrent-runs"));
        registry.bind(QUEUE_INTAKE, intake);
        // The intake-file route's filter and poll strategy, read before each poll of the drop folder.
        registry.bind(INBOX, new InboxEntries(Path.of(settings.text("drover.inbox")),
                settings.whole("drover.inbox.read-lock-interval"), settings.whole("drover.inbox.empty-grace"),
                settings.manifestMaxBytes()));
        JmsComponent jms = context.getComponent("jms", JmsComponent.class);
        QueueDepth queueDepth = null;
        RunEvents events = null;
        if (!serve || url == null) {
            jms.setConnectionFactory(new NoBroker());
        } else {
            String manifests = settings.text("drover.queue.manifests");
            String destination = settings.optional("drover.events.destination");
            List<String> queues = new ArrayList<>(List.of(manifests, settings.text("drover.queue.errors")));
            String eventsQueue = destination == null ? null : JmsEventSink.queueOf(destination);
            if (eventsQueue != null) {
                queues.add(eventsQueue);
            }
            String user = settings.optional("drover.queue.user");
            String password = settings.optional("drover.queue.password");
            BrokerConnection broker = new BrokerConnection(url, user == null ? "" : user,
                    password == null ? "" : password, queues,
                    context.getExecutorServiceManager().newSingleThreadExecutor(ServeBeans.class, "drover-broker-probe"));
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
            if (destination != null) {
                EventOutbox outbox = new EventOutbox(runs.runsDir(), context.getExecutorServiceManager()
                        .newFixedThreadPool(EventOutbox.class, "drover-events-force", EventOutbox.FORCERS));
                events = new RunEvents(context, outbox, new JmsEventSink(broker, destination),
                        settings.whole("drover.events.progress-interval"), settings.flag("drover.events.task-finished"),
                        settings.integer("drover.events.backlog"));
                events.attach(runs);
                registry.bind("runEvents", events);
            }
        }
        if (settings.flag("drover.observe.enabled")) {
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
}
