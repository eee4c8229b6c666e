package dev.drover.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.camel.DroverRuntime;
import dev.drover.serve.TestBroker;
import jakarta.jms.JMSConsumer;
import jakarta.jms.JMSContext;
import jakarta.jms.Message;
import jakarta.jms.TextMessage;
import org.apache.qpid.protonj2.client.Client;
import org.apache.qpid.protonj2.client.Connection;
import org.apache.qpid.protonj2.client.Sender;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.drover.cli.ServeCommandTest.status;
import static dev.drover.cli.ServeCommandTest.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `drover serve` against an embedded broker that the test stops and starts: events owed during an outage arrive
 * after it, readiness follows the broker while every run slot is busy, a foreign AMQP sender's manifest is not
 * lost, and a taken observe port stops serve from starting.
 */
class QueueOutageTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path tmp;

    private static DroverRuntime serve(String... args) throws Exception {
        ServeCommand command = new ServeCommand();
        new CommandLine(command).parseArgs(args);
        return command.start();
    }

    /** A run whose tasks wait until the file {@code release} exists. */
    private static String waitingManifest(String name, int tasks, Path release) {
        return """
                name: %s
                jobs: %d
                command: [sh, -c, 'while [ ! -e %s ]; do sleep 0.05; done; echo {item}']
                range: {end: %d}
                """.formatted(name, tasks, release, tasks);
    }

    /** Events received, by run, duplicates (same eventId) left out, until every run named has its run-finished. */
    private static Map<String, List<JsonNode>> eventsUntilFinished(JMSConsumer consumer, int runs, long millis)
            throws Exception {
        Map<String, List<JsonNode>> byRun = new LinkedHashMap<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        long deadline = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < deadline && byRun.values().stream().filter(events -> events.stream()
                .anyMatch(e -> e.get("event").asText().equals("run-finished"))).count() < runs) {
            Message message = consumer.receive(500);
            if (message == null) {
                continue;
            }
            JsonNode event = JSON.readTree(((TextMessage) message).getText());
            assertEquals(event.get("eventId").asText(), message.getStringProperty("DroverEventId"));
            if (seen.add(event.get("eventId").asText())) {
                byRun.computeIfAbsent(event.get("runId").asText(), k -> new ArrayList<>()).add(event);
            }
        }
        return byRun;
    }

    @Test
    void anOutageDuringARunLosesNoEvent() throws Exception {
        Path release = tmp.resolve("release");
        try (TestBroker broker = new TestBroker(tmp.resolve("broker"), true);
             DroverRuntime serve = serve("--queue", broker.url(), "--queue-name", "manifests", "--no-observe",
                     "--runs-dir", tmp.resolve("runs").toString(), "-D", "drover.events.destination=queue:events")) {
            try (JMSContext jms = broker.client()) {
                jms.createProducer().send(jms.createQueue("manifests"), waitingManifest("outage", 4, release));
            }
            assertTrue(waitFor(() -> broker.messageCount("events") >= 1, 30_000), "run-accepted sent");
            broker.stop();
            // the run ends during the outage: its task-finished and run-finished events are owed
            Files.createFile(release);
            assertTrue(waitFor(() -> runFinishedOnDisk(tmp.resolve("runs")), 30_000), "the run ended");
            Thread.sleep(1000); // the outage goes on after the run's end
            broker.start();
            try (JMSContext jms = broker.client()) {
                Map<String, List<JsonNode>> byRun = eventsUntilFinished(
                        jms.createConsumer(jms.createQueue("events")), 1, 60_000);
                assertEquals(1, byRun.size(), byRun.toString());
                List<JsonNode> events = byRun.values().iterator().next();
                assertEquals(List.of("run-accepted", "task-finished", "task-finished", "task-finished",
                        "task-finished", "run-finished"), events.stream().map(e -> e.get("event").asText()).toList());
                for (int i = 0; i < events.size(); i++) {
                    assertEquals(i + 1, events.get(i).get("seq").asInt(), "in order, without gaps: " + events);
                }
                assertEquals("SUCCEEDED", events.get(5).get("state").asText());
            }
        }
    }

    /** The consumer is parked waiting for a slot (concurrent-runs=1, busy): readiness still follows the broker. */
    @Test
    void readinessGoesDownWithinSecondsOfABrokerStopWhileEverySlotIsBusy() throws Exception {
        Path release = tmp.resolve("release");
        int port = TestBroker.freePort();
        try (TestBroker broker = new TestBroker(tmp.resolve("broker"), true);
             DroverRuntime serve = serve("--queue", broker.url(), "--queue-name", "manifests",
                     "--observe-port", Integer.toString(port), "--runs-dir", tmp.resolve("runs").toString(),
                     "-D", "drover.queue.concurrent-runs=1", "-D", "drover.events.destination=")) {
            try (JMSContext jms = broker.client()) {
                jms.createProducer().send(jms.createQueue("manifests"), waitingManifest("busy", 1, release));
                jms.createProducer().send(jms.createQueue("manifests"), waitingManifest("parked", 1, release));
            }
            assertTrue(waitFor(() -> status(port, "/observe/health/ready") == 200, 30_000));
            // the second message is delivered and waits for the slot the first run holds
            assertTrue(waitFor(() -> broker.messageCount("manifests") == 1 && runDirs() == 1, 30_000));
            long stopped = System.nanoTime();
            broker.stop();
            assertTrue(waitFor(() -> status(port, "/observe/health/ready") == 503, 30_000));
            long seconds = (System.nanoTime() - stopped) / 1_000_000_000;
            assertTrue(seconds < 10, "readiness went DOWN " + seconds + " s after the broker stopped");
            String body = ServeCommandTest.get(port, "/observe/health/ready").body();
            assertTrue(body.contains("not connected to the broker") && !body.contains("\\\\/"), body);
            assertEquals(200, status(port, "/observe/health/live"));

            broker.start();
            assertTrue(waitFor(() -> status(port, "/observe/health/ready") == 200, 30_000), "ready again");
            Files.createFile(release);
            // the parked message was rolled back by the outage: redelivered, it still runs once
            assertTrue(waitFor(() -> runDirs() == 2 && broker.messageCount("manifests") == 0, 60_000));
        }
    }

    private long runDirs() {
        try (var dirs = Files.list(tmp.resolve("runs"))) {
            return dirs.filter(d -> !d.getFileName().toString().startsWith(".")).count();
        } catch (java.io.IOException e) {
            return 0;
        }
    }

    /**
     * A sender that does not ask for a queue (AMQP 1.0 without the queue capability, as many non-Java clients) while
     * drover is away: the queue drover created when it first connected keeps the manifest (an auto-created one is
     * deleted with its last consumer, and the broker would make a MULTICAST address and discard the message).
     */
    @Test
    void anAmqpSendersManifestRunsOnABrokerWhereNoQueueExistedBefore() throws Exception {
        try (TestBroker broker = new TestBroker(tmp.resolve("broker"), true)) {
            String[] args = {"--queue", broker.url(), "--queue-name", "amqp.manifests", "--no-observe",
                    "--runs-dir", tmp.resolve("runs").toString(), "-D", "drover.events.destination=queue:amqp.events"};
            try (DroverRuntime first = serve(args)) {
                assertTrue(waitFor(() -> broker.queueExists("amqp.manifests") && broker.queueExists("amqp.events")
                        && broker.queueExists("drover.manifests.error"), 30_000), "drover created its queues");
            }
            // drover is away: nothing consumes the queue
            try (Client client = Client.create();
                 Connection amqp = client.connect("127.0.0.1", broker.port());
                 Sender sender = amqp.openSender("amqp.manifests")) {
                sender.send(org.apache.qpid.protonj2.client.Message.create("""
                        name: from-amqp
                        tasks:
                          - {command: [echo, hello]}
                        """)).awaitSettlement();
            }
            assertEquals(1, broker.messageCount("amqp.manifests"), "the broker kept the manifest");
            try (DroverRuntime second = serve(args); JMSContext jms = broker.client()) {
                Map<String, List<JsonNode>> byRun = eventsUntilFinished(
                        jms.createConsumer(jms.createQueue("amqp.events")), 1, 60_000);
                assertEquals(1, byRun.size(), byRun.toString());
                JsonNode finished = byRun.values().iterator().next().stream()
                        .filter(e -> e.get("event").asText().equals("run-finished")).findFirst().orElseThrow();
                assertTrue(finished.get("runId").asText().startsWith("from-amqp-"), finished.toString());
                assertEquals("SUCCEEDED", finished.get("state").asText());
            }
        }
    }

    @Test
    void aTakenObservePortStopsServeWithOneLine() throws Exception {
        try (ServerSocket taken = new ServerSocket(0)) {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            PrintStream before = System.err;
            int exit;
            System.setErr(new PrintStream(err, true));
            try {
                exit = new CommandLine(new ServeCommand()).execute("--inbox", tmp.resolve("inbox").toString(),
                        "--runs-dir", tmp.resolve("runs").toString(),
                        "--observe-port", Integer.toString(taken.getLocalPort()));
            } finally {
                System.setErr(before);
            }
            String said = err.toString().strip();
            assertEquals(2, exit, said);
            assertEquals(1, said.lines().count(), said);
            assertTrue(said.startsWith("drover: cannot serve health and metrics on port " + taken.getLocalPort()),
                    said);
            assertTrue(said.contains("--observe-port") && said.contains("--no-observe"), said);
        }
    }

    private static boolean runFinishedOnDisk(Path runs) {
        try (var dirs = Files.list(runs)) {
            return dirs.anyMatch(d -> Files.exists(d.resolve("report.json")));
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
