package dev.drover.serve;

import dev.drover.Await;
import dev.drover.run.Run;
import dev.drover.run.HandDriven;
import dev.drover.run.RunRegistry;
import dev.drover.run.TaskState;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import jakarta.jms.JMSContext;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** drover's meters as Prometheus text: task durations, queue depth and the drop folder's backlog. */
class DroverMetricsTest {

    @TempDir
    Path tmp;

    private final PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final CamelContext context = new DefaultCamelContext();

    private java.util.concurrent.Executor prober() {
        return context.getExecutorServiceManager().newSingleThreadExecutor(this, "drover-broker-probe");
    }
    private RunRegistry runs;
    private DroverMetrics metrics;

    /** DroverMetrics as serve binds it: its meters go to the registry once the context has started. */
    private void startMetrics(QueueDepth queueDepth) {
        startMetrics(queueDepth, null);
    }

    private void startMetrics(QueueDepth queueDepth, RunEvents events) {
        context.getRegistry().bind(DroverMetrics.REGISTRY, prometheus);
        runs = new RunRegistry(tmp.resolve("runs"));
        if (events != null) {
            events.attach(runs);
        }
        metrics = DroverMetrics.bind(context, runs, queueDepth, events);
        context.start();
    }

    @AfterEach
    void stop() {
        context.stop();
    }

    @Test
    void taskDurationsAreAHistogramByStrategyAndState() throws Exception {
        startMetrics(null);
        Run run = HandDriven.accept(runs, "timed", 4, "multiprocessing", 2);
        HandDriven.succeeds(run, 0);
        run.taskStarted(1, 1);
        Thread.sleep(150);
        run.taskFinished(1, 1, TaskState.SUCCEEDED, 0, null);
        HandDriven.fails(run, 2, 1, "exit code 1");
        run.cancel(); // task 3 never started: it has no duration

        String text = prometheus.scrape();
        String succeeded = "{state=\"succeeded\",strategy=\"multiprocessing\"}";
        assertEquals(2, value(text, "drover_task_duration_seconds_count" + succeeded), text);
        assertEquals(1, value(text, "drover_task_duration_seconds_bucket{state=\"succeeded\","
                + "strategy=\"multiprocessing\",le=\"0.1\"}"), text);
        assertEquals(2, value(text, "drover_task_duration_seconds_bucket{state=\"succeeded\","
                + "strategy=\"multiprocessing\",le=\"60.0\"}"), text);
        assertTrue(value(text, "drover_task_duration_seconds_sum" + succeeded) >= 0.15, text);
        assertEquals(1, value(text, "drover_task_duration_seconds_count{state=\"failed\",strategy=\"multiprocessing\"}"),
                text);
        assertTrue(!text.contains("drover_task_duration_seconds_count{state=\"cancelled\""), text);
        assertEquals(1, value(text, "drover_tasks_finished_total{state=\"cancelled\"}"), text);
    }

    @Test
    void queueDepthCountsTheMessagesWaitingAndIsNaNWithoutABroker() throws Exception {
        try (TestBroker broker = new TestBroker(tmp.resolve("broker")); JMSContext jms = broker.client()) {
            for (int i = 0; i < 3; i++) {
                jms.createProducer().send(jms.createQueue("waiting"), "name: m" + i);
            }
            startMetrics(new QueueDepth(context, new BrokerConnection(broker.url(), "", "", java.util.List.of(), prober()), "waiting"));
            // a scrape waits SCRAPE_WAIT_MILLIS only: a cold first connection may take longer and give NaN first
            assertEquals(3, eventually(prometheus::scrape, "drover_queue_depth{queue=\"waiting\"}"),
                    prometheus.scrape());
        }
        QueueDepth nowhere = new QueueDepth(context, new BrokerConnection(
                "tcp://127.0.0.1:" + TestBroker.freePort() + "?initialConnectAttempts=1", "", "", java.util.List.of(), prober()),
                "waiting");
        long start = System.nanoTime();
        assertTrue(Double.isNaN(nowhere.depth()));
        // the margin is for a slow machine; it stays well below the reply wait a scrape must not sit through
        assertTrue(System.nanoTime() - start < (QueueDepth.SCRAPE_WAIT_MILLIS + 2000) * 1_000_000,
                "a scrape waits for the broker at most " + QueueDepth.SCRAPE_WAIT_MILLIS + " ms");
    }

    @Test
    void droppedEventsAreCounted() throws Exception {
        // no room for a single task event: each is dropped
        startMetrics(null, new RunEvents(context, new EventOutbox(tmp.resolve("runs")), batch -> { }, 0, true, 0));
        assertEquals(0, value(prometheus.scrape(), "drover_events_dropped_total"), prometheus.scrape());
        Run run = HandDriven.accept(runs, "dropped", 2, "multiprocessing", 2);
        HandDriven.succeeds(run, 0);
        HandDriven.succeeds(run, 1);
        // counted when dropped, in the task's thread: nothing asynchronous to wait for
        assertEquals(2, value(prometheus.scrape(), "drover_events_dropped_total"), prometheus.scrape());
    }

    @Test
    void inboxWaitingCountsManifestFilesOnly() throws Exception {
        startMetrics(null);
        Path inbox = Files.createDirectories(tmp.resolve("inbox"));
        Files.writeString(inbox.resolve("a.json"), "{}");
        Files.writeString(inbox.resolve("b.yaml"), "name: b");
        Files.writeString(inbox.resolve(".c.json.tmp"), "{}"); // being written: not picked up
        Files.writeString(inbox.resolve("notes.txt"), "");
        Files.createDirectories(inbox.resolve(".done"));
        assertTrue(!prometheus.scrape().contains("drover_inbox_waiting"), "no series before the folder is watched");
        metrics.watchInbox(new InboxWaiting(context, inbox));
        assertEquals(2, value(prometheus.scrape(), "drover_inbox_waiting"), prometheus.scrape());
    }

    /**
     * The value of one series once a scrape has it and it is not NaN (asynchronous values, e.g. the broker's
     * answer); scrapes again until then, for at most 30 s, and fails if it never comes.
     */
    static double eventually(java.util.function.Supplier<String> scrape, String series) {
        String[] last = {""};
        return Await.value(series + " present and not NaN (last scrape below)", java.time.Duration.ofSeconds(30), () -> {
            last[0] = scrape.get();
            double found = last[0].lines().filter(l -> l.startsWith(series + " ")).findFirst()
                    .map(l -> Double.parseDouble(l.substring(series.length() + 1).trim())).orElse(Double.NaN);
            return Double.isNaN(found) ? null : found;
        });
    }

    /** The value of one series in Prometheus text; fails if it is absent. */
    static double value(String text, String series) {
        return text.lines().filter(l -> l.startsWith(series + " ")).findFirst()
                .map(l -> Double.parseDouble(l.substring(series.length() + 1).trim()))
                .orElseThrow(() -> new AssertionError(series + " not in\n" + text));
    }
}
