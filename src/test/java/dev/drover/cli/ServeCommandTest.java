package dev.drover.cli;

import dev.drover.Await;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.camel.DroverRuntime;
import dev.drover.serve.TestBroker;
import jakarta.jms.JMSConsumer;
import jakarta.jms.JMSContext;
import jakarta.jms.Message;
import jakarta.jms.TextMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `drover serve` with an embedded Artemis broker on a real TCP port: manifests from the queue and the drop folder
 * in one process, events, the error queue, health and metrics over HTTP, and a rolled-back message that is
 * redelivered without making a second run.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ServeCommandTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String HELLO_YAML = """
            name: from-queue
            tasks:
              - {id: a, command: [echo, a]}
              - {id: b, command: [echo, b]}
              - {id: c, command: [sh, -c, 'exit 3']}
            """;
    private static final String HELLO_JSON = """
            {"name": "from-inbox", "strategy": "sequential",
             "tasks": [{"command": ["echo", "one"]}, {"command": ["echo", "two"]}]}
            """;

    @TempDir
    static Path tmp;

    private TestBroker broker;
    private DroverRuntime serve;
    private Path runs;
    private Path inbox;
    private int observePort;

    @BeforeAll
    void start() throws Exception {
        broker = new TestBroker(tmp.resolve("broker"));
        runs = tmp.resolve("runs");
        inbox = Files.createDirectories(tmp.resolve("inbox"));
        observePort = TestBroker.freePort();
        serve = serve("--queue", broker.url(), "--queue-name", "manifests", "--inbox", inbox.toString(),
                "--runs-dir", runs.toString(), "--observe-port", Integer.toString(observePort),
                "-D", "drover.queue.errors=manifests.error", "-D", "drover.events.destination=queue:events",
                "-D", "drover.inbox.poll-delay=100", "-D", "drover.inbox.read-lock-interval=100");
    }

    @AfterAll
    void stop() throws Exception {
        if (serve != null) {
            serve.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    private static DroverRuntime serve(String... args) throws Exception {
        ServeCommand command = new ServeCommand();
        new CommandLine(command).parseArgs(args);
        return command.start();
    }

    @Test
    void runsManifestsFromTheQueueAndTheInboxAndPublishesEvents() throws Exception {
        try (JMSContext jms = broker.client()) {
            JMSConsumer events = jms.createConsumer(jms.createQueue("events"));
            jms.createProducer().send(jms.createQueue("manifests"), HELLO_YAML);
            Path temp = inbox.resolve(".hello.json.tmp");
            Files.writeString(temp, HELLO_JSON);
            Files.move(temp, inbox.resolve("hello.json"), StandardCopyOption.ATOMIC_MOVE);

            Map<String, List<JsonNode>> byRun = new HashMap<>();
            Map<String, JsonNode> finished = new HashMap<>();
            // until both runs have finished and every task's task-finished is in: a run's last task-finished may
            // follow its run-finished (see RunEvents), so receiving goes on after run-finished, briefly each time
            long deadline = System.currentTimeMillis() + 60_000;
            while (!allEventsIn(byRun, finished, 2) && System.currentTimeMillis() < deadline) {
                Message message = events.receive(finished.size() < 2 ? 1000 : 200);
                if (message == null) {
                    continue;
                }
                JsonNode event = JSON.readTree(((TextMessage) message).getText());
                assertEquals(event.get("event").asText(), message.getStringProperty("DroverEvent"));
                assertEquals(event.get("runId").asText(), message.getStringProperty("DroverRunId"));
                byRun.computeIfAbsent(event.get("runId").asText(), k -> new ArrayList<>()).add(event);
                if (event.get("event").asText().equals("run-finished")) {
                    finished.put(event.get("runId").asText(), event);
                }
            }
            assertEquals(2, finished.size(), "run-finished events: " + byRun);
            assertTrue(allEventsIn(byRun, finished, 2), "task-finished events missing: " + byRun);

            JsonNode fromQueue = finished.values().stream()
                    .filter(e -> e.get("runId").asText().startsWith("from-queue-")).findFirst().orElseThrow();
            assertEquals("FAILED", fromQueue.get("state").asText());
            assertEquals(2, fromQueue.get("counts").get("succeeded").asInt());
            assertEquals(1, fromQueue.get("counts").get("failed").asInt());
            JsonNode report = JSON.readTree(Path.of(fromQueue.get("report").asText()).toFile());
            assertEquals("FAILED", report.get("state").asText());
            assertEquals(3, report.get("tasks").size());

            JsonNode fromInbox = finished.values().stream()
                    .filter(e -> e.get("runId").asText().startsWith("from-inbox-")).findFirst().orElseThrow();
            assertEquals("SUCCEEDED", fromInbox.get("state").asText());
            assertTrue(Files.exists(Path.of(fromInbox.get("report").asText())));

            // the set of events per run, not their places: only run-accepted's (first) is certain
            for (List<JsonNode> events1 : byRun.values()) {
                assertEquals("run-accepted", events1.get(0).get("event").asText(), "first event: " + events1);
                assertEquals(1, ofType(events1, "run-finished").size(), "run-finished once: " + events1);
                assertEquals(1, ofType(events1, "run-accepted").size(), "run-accepted once: " + events1);
            }
            List<JsonNode> queueTasks = ofType(byRun.get(fromQueue.get("runId").asText()), "task-finished");
            assertEquals(java.util.Set.of("a", "b", "c"), queueTasks.stream().map(e -> e.get("task").asText())
                    .collect(java.util.stream.Collectors.toSet()), "task-finished events: " + queueTasks);
            assertEquals(3, queueTasks.size(), "task-finished events: " + queueTasks);
            List<JsonNode> inboxTasks = ofType(byRun.get(fromInbox.get("runId").asText()), "task-finished");
            assertEquals(java.util.Set.of(0, 1), inboxTasks.stream().map(e -> e.get("index").asInt())
                    .collect(java.util.stream.Collectors.toSet()), "task-finished events: " + inboxTasks);
            assertEquals(2, inboxTasks.size(), "task-finished events: " + inboxTasks);
            JsonNode failedTask = queueTasks.stream().filter(e -> e.get("state").asText().equals("FAILED"))
                    .findFirst().orElseThrow();
            assertEquals("c", failedTask.get("task").asText());
            assertEquals(2, failedTask.get("index").asInt());
            assertEquals(3, failedTask.get("exitCode").asInt());
            assertEquals(1, failedTask.get("attempt").asInt());
            assertTrue(failedTask.get("durationSeconds").asDouble() >= 0, failedTask.toString());
            JsonNode succeededTask = queueTasks.stream().filter(e -> e.get("task").asText().equals("a"))
                    .findFirst().orElseThrow();
            assertEquals("SUCCEEDED", succeededTask.get("state").asText());
            assertEquals(0, succeededTask.get("exitCode").asInt());
            assertFalse(succeededTask.has("reason"), succeededTask.toString());
            // committed by the consumer once the run was recorded: a run this short may end (and be announced) first
            assertTrue(waitFor(() -> broker.messageCount("manifests") == 0, 30_000),
                    "the manifest message was acknowledged");
            assertTrue(waitFor(() -> Files.exists(inbox.resolve(".done/hello.json")), 30_000), () -> listing(inbox));

            // Counters follow the runs' ends in their own listeners, the queue depth is asked of the broker (NaN
            // until a cold first connection answers): scrape until all are there, then assert them
            String tasksSucceeded = "drover_tasks_finished_total{state=\"succeeded\"}";
            String runsFailed = "drover_runs_finished_total{state=\"failed\"}";
            String runsSucceeded = "drover_runs_finished_total{state=\"succeeded\"}";
            String sequentialTimed = "drover_task_duration_seconds_count{state=\"succeeded\",strategy=\"sequential\"}";
            String failedTimed = "drover_task_duration_seconds_count{state=\"failed\",strategy=\"multiprocessing\"}";
            String depth = "drover_queue_depth{queue=\"manifests\"}";
            String metrics = scrapeUntil(observePort, m -> metricValue(m, tasksSucceeded) >= 4
                    && metricValue(m, runsFailed) >= 1 && metricValue(m, runsSucceeded) >= 1
                    && metricValue(m, sequentialTimed) >= 2 && metricValue(m, failedTimed) >= 1
                    && metricValue(m, depth) >= 0 // present and not NaN
                    && metricValue(m, "drover_inbox_waiting") == 0, 30_000);
            assertTrue(metricValue(metrics, tasksSucceeded) >= 4, metrics);
            assertTrue(metricValue(metrics, runsFailed) >= 1, metrics);
            assertTrue(metricValue(metrics, runsSucceeded) >= 1, metrics);
            assertTrue(metricValue(metrics, sequentialTimed) >= 2, metrics);
            assertTrue(metricValue(metrics, failedTimed) >= 1, metrics);
            assertEquals(0, metricValue(metrics, depth), metrics);
            assertEquals(0, metricValue(metrics, "drover_inbox_waiting"), metrics);
            assertEquals(0, metricValue(metrics, "drover_events_dropped_total"), metrics);
        }
    }

    @Test
    void invalidManifestGoesToTheErrorQueueWithTheReason() throws Exception {
        String bad = "name: broken\ntasks: []\n";
        try (JMSContext jms = broker.client()) {
            jms.createProducer().send(jms.createQueue("manifests"), bad);
            jms.createProducer().send(jms.createQueue("manifests"), Map.of("name", "a-map"));
            JMSConsumer errors = jms.createConsumer(jms.createQueue("manifests.error"));
            // consumers side by side: the two may arrive in either order
            Message one = errors.receive(30_000);
            Message other = errors.receive(30_000);
            assertNotNull(one, "nothing on the error queue");
            assertNotNull(other, "only one message on the error queue");
            Message first = one instanceof TextMessage ? one : other;
            Message second = first == one ? other : one;
            assertEquals(bad, ((TextMessage) first).getText());
            assertEquals("tasks", first.getStringProperty("DroverErrorField"));
            assertTrue(first.getStringProperty("DroverError").contains("empty"), first.getStringProperty("DroverError"));
            assertTrue(second.getStringProperty("DroverError").contains("text message"),
                    second.getStringProperty("DroverError"));
            assertNull(errors.receiveNoWait());
        }
        try (Stream<Path> dirs = Files.list(runs)) {
            assertFalse(dirs.anyMatch(d -> d.getFileName().toString().startsWith("broken")));
        } catch (java.nio.file.NoSuchFileException ignored) {
            // no run at all
        }
        // the error message and the acknowledgement commit together; the count is read from the broker's side
        assertTrue(waitFor(() -> broker.messageCount("manifests") == 0, 30_000), "messages left on manifests");
    }

    @Test
    void healthAnswersUp() throws Exception {
        // ready: the queue consumer is registered with the broker (see notReadyWhileTheBrokerIsUnreachable...)
        assertTrue(waitFor(() -> status(observePort, "/observe/health/ready") == 200, 30_000));
        HttpResponse<String> health = get(observePort, "/observe/health");
        assertEquals(200, health.statusCode(), health.body());
        assertTrue(health.body().contains("\"status\":\"UP\""), health.body());
    }

    @Test
    void notReadyWhileTheBrokerIsUnreachableButAlive() throws Exception {
        int port = TestBroker.freePort();
        try (DroverRuntime other = serve("--queue", "tcp://127.0.0.1:" + TestBroker.freePort(), "--observe-port",
                Integer.toString(port), "--runs-dir", tmp.resolve("runs-3").toString(),
                "-D", "drover.events.destination=")) {
            assertTrue(waitFor(() -> status(port, "/observe/health/ready") == 503, 30_000));
            assertEquals(200, get(port, "/observe/health/live").statusCode());
        }
    }

    /** A manifest stays in the drop folder while its run goes on: it is not counted as waiting. */
    @Test
    void inboxWaitingLeavesOutTheManifestsBeingRun() throws Exception {
        Path inbox2 = Files.createDirectories(tmp.resolve("inbox-2"));
        Path runs2 = tmp.resolve("runs-2");
        // slow.yaml's task runs until the test has scraped and creates this file
        Path go = tmp.resolve("inbox-2-go");
        int port = TestBroker.freePort();
        try (DroverRuntime other = serve("--inbox", inbox2.toString(), "--runs-dir", runs2.toString(),
                "--observe-port", Integer.toString(port), "-D", "drover.inbox.concurrent-runs=1",
                "-D", "drover.inbox.poll-delay=100", "-D", "drover.inbox.read-lock-interval=100")) {
            try {
                Files.writeString(inbox2.resolve(".slow.yaml"), "name: slow\ntasks:\n  - {command: [sh, -c,"
                        + " 'while [ ! -e " + go + " ]; do sleep 0.1; done']}\n");
                Files.move(inbox2.resolve(".slow.yaml"), inbox2.resolve("slow.yaml"), StandardCopyOption.ATOMIC_MOVE);
                assertTrue(waitFor(() -> runDirCount(runs2) == 1, 30_000), () -> listing(runs2));
                Files.writeString(inbox2.resolve(".next.yaml"), "name: next\ntasks:\n  - {command: [echo, hi]}\n");
                Files.move(inbox2.resolve(".next.yaml"), inbox2.resolve("next.yaml"), StandardCopyOption.ATOMIC_MOVE);
                // one run at a time: slow.yaml is being run until go exists, next.yaml waits for it
                String metrics = scrapeUntil(port, m -> metricValue(m, "drover_inbox_waiting") == 1, 30_000);
                assertEquals(1, metricValue(metrics, "drover_inbox_waiting"), metrics);
                assertFalse(metrics.contains("drover_queue_depth"), "no queue intake, no queue depth");
            } finally {
                Files.writeString(go, "");
            }
            assertTrue(waitFor(() -> Files.exists(inbox2.resolve(".done/next.yaml")), 30_000), () -> listing(inbox2));
            assertTrue(Files.exists(inbox2.resolve(".done/slow.yaml")), () -> listing(inbox2));
        }
    }

    /** A message whose run cannot be recorded is rolled back and redelivered; once it can, it makes one run. */
    @Test
    void messageIsAcknowledgedOnlyOnceItsRunIsRecorded() throws Exception {
        Path blocked = tmp.resolve("blocked-runs");
        try (DroverRuntime other = serve("--queue", broker.url(), "--queue-name", "manifests-2", "--no-observe",
                "--runs-dir", blocked.toString(), "-D", "drover.events.destination=");
             JMSContext jms = broker.client()) {
            // usable at start (serve refuses one that is not), then a file in its place: no run can be recorded
            Files.delete(blocked);
            Files.writeString(blocked, "not a directory: run directories cannot be made here");
            jms.createProducer().send(jms.createQueue("manifests-2"), HELLO_YAML.replace("from-queue", "redelivered"));
            // several failed deliveries, 200 ms apart: counted on the broker, not guessed from a fixed sleep
            assertTrue(waitFor(() -> broker.failedDeliveries("manifests-2") >= 3, 30_000),
                    () -> "failed deliveries: " + broker.failedDeliveries("manifests-2"));
            assertEquals(1, broker.messageCount("manifests-2"), "the message must stay on the queue");
            Files.delete(blocked);
            assertTrue(waitFor(() -> reportCount(blocked) == 1, 30_000), "one run finishes");
            // acknowledged once its run is recorded: from then on no delivery of it can make another run
            assertTrue(waitFor(() -> broker.messageCount("manifests-2") == 0, 30_000), "the message was acknowledged");
            assertEquals(1, runDirCount(blocked), "exactly one run");
        }
    }

    /** The queue waits for acceptance only, so drover itself bounds how many queue runs go on at once. */
    @Test
    void queueStartsNoMoreRunsThanConcurrentRuns() throws Exception {
        Path runs4 = tmp.resolve("runs-4");
        try (DroverRuntime other = serve("--queue", broker.url(), "--queue-name", "manifests-4", "--no-observe",
                "--runs-dir", runs4.toString(), "-D", "drover.queue.concurrent-runs=1",
                "-D", "drover.events.destination=");
             JMSContext jms = broker.client()) {
            for (String name : new String[]{"first", "second"}) {
                jms.createProducer().send(jms.createQueue("manifests-4"),
                        "name: " + name + "\ntasks:\n  - {command: [sleep, '1']}\n");
            }
            assertTrue(waitFor(() -> reportCount(runs4) == 2, 30_000), () -> listing(runs4));
            JsonNode first = report(runs4, "first-");
            JsonNode second = report(runs4, "second-");
            assertTrue(!java.time.Instant.parse(second.get("acceptedAt").asText())
                            .isBefore(java.time.Instant.parse(first.get("finishedAt").asText())),
                    "second accepted " + second.get("acceptedAt") + " before first finished " + first.get("finishedAt"));
        }
    }

    private static JsonNode report(Path runsDir, String prefix) throws Exception {
        try (Stream<Path> dirs = Files.list(runsDir)) {
            Path dir = dirs.filter(d -> d.getFileName().toString().startsWith(prefix)).findFirst().orElseThrow();
            return JSON.readTree(dir.resolve("report.json").toFile());
        }
    }

    @Test
    void sameManifestTwiceFromTheQueueRunsOnce() throws Exception {
        Path runs5 = tmp.resolve("runs-5");
        try (DroverRuntime other = serve("--queue", broker.url(), "--queue-name", "manifests-5", "--no-observe",
                "--runs-dir", runs5.toString(), "-D", "drover.events.destination=");
             JMSContext jms = broker.client()) {
            String m = "name: twice\ntasks:\n  - {command: [echo, hi]}\n";
            jms.createProducer().send(jms.createQueue("manifests-5"), m);
            assertTrue(waitFor(() -> reportCount(runs5) == 1, 30_000));
            jms.createProducer().send(jms.createQueue("manifests-5"), m);
            // a message is acknowledged only after its run (if any) is recorded: once it is gone, the count is final
            assertTrue(waitFor(() -> broker.messageCount("manifests-5") == 0, 30_000));
            assertEquals(1, runDirCount(runs5));
        }
    }

    /** A runs directory where no run can be made stops serve at start in one line, not every manifest later. */
    @Test
    void anUnusableRunsDirStopsServeWithOneLine() throws Exception {
        Path file = Files.writeString(tmp.resolve("runs-file"), "a file, not a folder");
        for (Path unusable : List.of(file, file.resolve("below-a-file"))) {
            java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
            java.io.PrintStream before = System.err;
            int exit;
            System.setErr(new java.io.PrintStream(err, true));
            try {
                exit = new CommandLine(new ServeCommand()).execute("--inbox", tmp.resolve("inbox-6").toString(),
                        "--runs-dir", unusable.toString(), "--no-observe");
            } finally {
                System.setErr(before);
            }
            String said = err.toString().strip();
            assertEquals(2, exit, said);
            assertEquals(1, said.lines().count(), said);
            assertTrue(said.startsWith("drover: cannot make run directories in " + unusable + " ("), said);
            assertTrue(said.endsWith("): choose another with --runs-dir DIR"), said);
        }
    }

    @Test
    void serveWithoutInboxOrQueueIsAUsageError() throws Exception {
        assertNull(serve("--runs-dir", tmp.resolve("unused").toString(), "--no-observe"));
    }

    private static String listing(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.map(Path::toString).toList().toString();
        } catch (Exception e) {
            return e.toString();
        }
    }

    private static long runDirCount(Path runsDir) {
        if (!Files.isDirectory(runsDir)) {
            return 0;
        }
        try (Stream<Path> dirs = Files.list(runsDir)) {
            return dirs.filter(Files::isDirectory).count();
        } catch (java.io.IOException e) {
            return 0;
        }
    }

    private static long reportCount(Path runsDir) {
        if (!Files.isDirectory(runsDir)) {
            return 0;
        }
        try (Stream<Path> dirs = Files.list(runsDir)) {
            return dirs.filter(d -> Files.exists(d.resolve("report.json"))).count();
        } catch (Exception e) {
            return 0;
        }
    }

    static HttpResponse<String> get(int port, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static int status(int port, String path) {
        try {
            return get(port, path).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static double metricValue(String metrics, String series) {
        return metrics.lines().filter(l -> l.startsWith(series + " ")).findFirst()
                .map(l -> Double.parseDouble(l.substring(series.length() + 1).trim())).orElse(-1.0);
    }

    /** Whether both runs have finished and each has a task-finished event per task. */
    private static boolean allEventsIn(Map<String, List<JsonNode>> byRun, Map<String, JsonNode> finished, int runs) {
        return finished.size() == runs && finished.values().stream().allMatch(f ->
                ofType(byRun.get(f.get("runId").asText()), "task-finished").size() >= f.get("tasks").asInt());
    }

    private static List<JsonNode> ofType(List<JsonNode> events, String type) {
        return events.stream().filter(e -> e.get("event").asText().equals(type)).toList();
    }

    /** Scrapes /observe/metrics until the condition holds or millis have passed; the last scrape. */
    private static String scrapeUntil(int port, java.util.function.Predicate<String> condition, long millis)
            throws Exception {
        String[] metrics = {get(port, "/observe/metrics").body()};
        Await.within(java.time.Duration.ofMillis(millis), () -> condition.test(metrics[0])
                || condition.test(metrics[0] = get(port, "/observe/metrics").body()));
        return metrics[0];
    }

    static boolean waitFor(java.util.function.BooleanSupplier condition, long millis) {
        return Await.within(java.time.Duration.ofMillis(millis), condition::getAsBoolean);
    }
}
