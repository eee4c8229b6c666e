package dev.drover.serve;

import dev.drover.Await;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.HandDriven;
import dev.drover.run.RunRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The events RunEvents writes to its outbox and sends, without a broker: the sink here collects what it is given,
 * and can be made to fail (an outage) or to wait (a slow broker).
 */
class RunEventsTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path tmp;

    private final List<CamelContext> contexts = new ArrayList<>();
    private final BlockingQueue<JsonNode> published = new LinkedBlockingQueue<>();
    /** While set, each batch waits in the sink until it is opened, as with a broker that does not answer. */
    private volatile CountDownLatch gate;
    /** Counted down when a batch reaches the sink: the sender is then held at the gate. */
    private volatile CountDownLatch entered = new CountDownLatch(1);
    /** While true, the sink fails every batch, as with a broker that is down. */
    private volatile boolean down;
    private final AtomicInteger failedBatches = new AtomicInteger();
    private RunEvents events;
    /** The runs directory of the drover started last. */
    private Path runsDir;

    @AfterEach
    void stop() {
        contexts.forEach(CamelContext::stop);
    }

    private RunRegistry start(boolean taskEvents) {
        return start(taskEvents, RunEvents.BACKLOG);
    }

    private RunRegistry start(boolean taskEvents, int backlog) {
        return start(taskEvents, backlog, tmp.resolve("runs"));
    }

    private RunRegistry start(boolean taskEvents, int backlog, Path runsDir) {
        CamelContext context = new DefaultCamelContext();
        contexts.add(context);
        this.runsDir = runsDir;
        RunRegistry runs = new RunRegistry(runsDir);
        events = new RunEvents(context, new EventOutbox(runs.runsDir()), batch -> {
            entered.countDown();
            CountDownLatch closed = gate;
            if (closed != null) {
                assertTrue(closed.await(30, TimeUnit.SECONDS), "the test never opened the gate");
            }
            if (down) {
                failedBatches.incrementAndGet();
                throw new jakarta.jms.JMSException("broker down");
            }
            for (EventOutbox.Event event : batch) {
                published.add(JSON.readTree(event.json()));
            }
        }, 0, taskEvents, backlog);
        events.attach(runs);
        context.start();
        return runs;
    }

    private static RunPlan plan(String yaml, String strategy, Integer jobs) {
        return RunPlan.resolve(ManifestReader.parse(yaml), new RunOptions(strategy, jobs, null));
    }

    /** Two tasks end, the run is cancelled before the third starts. */
    private static Run runAndCancel(RunRegistry runs) {
        Run run = runs.accept(plan("""
                name: evented
                tasks:
                  - {id: first, command: [echo, a]}
                  - {id: second, command: [echo, b]}
                  - {id: never, command: [echo, c]}
                """, "sequential", null));
        HandDriven.succeeds(run, 0);
        HandDriven.failsAfterARetry(run, 1, 7, 7, "exit code 7");
        run.cancel();
        return run;
    }

    private List<JsonNode> eventsUntilRunFinished() throws InterruptedException {
        List<JsonNode> got = new ArrayList<>();
        while (got.stream().noneMatch(e -> e.get("event").asText().equals("run-finished"))) {
            JsonNode event = published.poll(10, TimeUnit.SECONDS);
            assertNotNull(event, "no run-finished; got " + got);
            got.add(event);
        }
        return got;
    }

    private static List<String> types(List<JsonNode> events) {
        return events.stream().map(e -> e.get("event").asText()).toList();
    }

    @Test
    void eachStartedTaskHasATaskFinishedEventBeforeRunFinishedNumberedInOrder() throws Exception {
        Run run = runAndCancel(start(true));
        List<JsonNode> got = eventsUntilRunFinished();
        // the task cancelled before it started has none: run-finished counts it
        assertEquals(List.of("run-accepted", "task-finished", "task-finished", "run-finished"), types(got));
        for (int i = 0; i < got.size(); i++) {
            assertEquals(i + 1, got.get(i).get("seq").asInt(), got.toString());
            assertEquals(run.id() + "/" + (i + 1), got.get(i).get("eventId").asText());
        }
        JsonNode failed = got.get(2);
        assertEquals("second", failed.get("task").asText());
        assertEquals("FAILED", failed.get("state").asText());
        assertEquals(7, failed.get("exitCode").asInt());
        assertEquals(2, failed.get("attempt").asInt());
        assertEquals("exit code 7", failed.get("reason").asText());
        assertTrue(failed.get("durationSeconds").isNumber(), failed.toString());
        assertEquals("CANCELLED", got.get(3).get("state").asText());
        assertEquals(0, got.get(3).get("eventsDropped").asInt());
        // everything was sent: the run's outbox is gone
        assertTrue(waitFor(() -> outboxFiles().isEmpty()), "outbox: " + outboxFiles());
    }

    /** A drover stopping (SIGTERM) sends what it owes before it goes, such as its cancelled runs' run-finished. */
    @Test
    void stoppingSendsWhatIsOwedFirst() throws Exception {
        gate = new CountDownLatch(1);
        Run run = runAndCancel(start(true));
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        Thread opener = new Thread(() -> {
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                return;
            }
            gate.countDown();
        });
        opener.start();
        contexts.get(0).stop(); // waits for the sender, held at the gate until the opener opens it
        List<String> sent = new ArrayList<>();
        published.forEach(e -> sent.add(e.get("event").asText()));
        assertEquals(List.of("run-accepted", "task-finished", "task-finished", "run-finished"), sent, run.id());
    }

    @Test
    void taskFinishedEventsCanBeTurnedOff() throws Exception {
        runAndCancel(start(false));
        assertEquals(List.of("run-accepted", "run-finished"), types(eventsUntilRunFinished()));
    }

    /** An outage: nothing is lost, nothing reordered, and the sender tries again at a pause, not per event. */
    @Test
    void eventsOwedDuringAnOutageAreSentInOrderWhenTheBrokerIsBack() throws Exception {
        down = true;
        RunRegistry runs = start(true);
        Run run = runs.accept(plan("""
                name: outage
                command: [echo, '{item}']
                range: {start: 0, end: 50}
                """, "multiprocessing", 4));
        for (int i = 0; i < 50; i++) {
            HandDriven.succeeds(run, i);
        }
        assertTrue(run.finished().isDone());
        Thread.sleep(1500); // the outage goes on; the sender pauses between attempts
        assertTrue(failedBatches.get() <= 5, "attempts during 1.5 s of outage: " + failedBatches.get());
        assertTrue(published.isEmpty());
        down = false;
        List<JsonNode> got = eventsUntilRunFinished();
        assertEquals(52, got.size(), types(got).toString());
        for (int i = 0; i < got.size(); i++) {
            assertEquals(i + 1, got.get(i).get("seq").asInt());
        }
    }

    /**
     * A drover stopped (as by kill -9: nothing is flushed) while the broker was down: the next start sends what was
     * owed, with the same eventIds, and announces the run that had ended with its run-finished from its report.
     */
    @Test
    void aRestartSendsWhatWasOwedAndFinishesARunThatEndedUnannounced() throws Exception {
        down = true;
        RunRegistry runs = start(true);
        Run ended = runAndCancel(runs);
        Run going = runs.accept(plan("""
                name: going
                command: [echo, '{item}']
                range: {start: 0, end: 3}
                """, "multiprocessing", 2));
        HandDriven.succeeds(going, 0);
        assertTrue(waitFor(() -> outboxLines(ended.id()) == 4 && outboxLines(going.id()) == 2),
                "written before sent: " + outboxFiles());
        // a crash between the run's end and its run-finished reaching the outbox
        removeLastLine(ended.id());
        contexts.get(0).stop();
        // what the restarted drover finds: a copy, as this JVM's first drover still holds its files' locks
        Path copy = tmp.resolve("restarted");
        try (var all = Files.walk(runsDir)) {
            for (Path from : all.toList()) {
                Files.copy(from, copy.resolve(runsDir.relativize(from).toString()));
            }
        }

        down = false;
        RunRegistry restarted = start(true, RunEvents.BACKLOG, copy);
        List<String> got = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            got.add(eventId(published.poll(10, TimeUnit.SECONDS)));
        }
        // in order per run (the order between runs is not kept)
        assertEquals(List.of(ended.id() + "/1 run-accepted", ended.id() + "/2 task-finished",
                ended.id() + "/3 task-finished", ended.id() + "/4 run-finished"),
                got.stream().filter(e -> e.startsWith(ended.id())).toList());
        // the unfinished run is recovered: its events go on with the next numbers, and it gets its run-finished
        assertEquals(List.of(going.id() + "/1 run-accepted", going.id() + "/2 task-finished"),
                got.stream().filter(e -> e.startsWith(going.id())).toList());
        Run recovered = restarted.recoverUnfinished().get(0);
        HandDriven.succeeds(recovered, 1);
        recovered.cancel();
        assertEquals(going.id() + "/3 task-finished", eventId(published.poll(10, TimeUnit.SECONDS)));
        assertEquals(going.id() + "/4 run-finished", eventId(published.poll(10, TimeUnit.SECONDS)));
        assertNull(published.poll(300, TimeUnit.MILLISECONDS), "nothing else");
        assertTrue(waitFor(() -> outboxFiles().isEmpty()), "outbox: " + outboxFiles());
    }

    /** A run a restart recovers that ends before any progress tick still gets its run-finished. */
    @Test
    void aRecoveredRunWithoutAnOutboxGetsRunAcceptedAndRunFinished() throws Exception {
        Run run = new RunRegistry(tmp.resolve("before")).accept(plan("""
                name: elsewhere
                tasks:
                  - {command: [echo, a]}
                """, "sequential", null)); // accepted without events, as by `drover run` that was killed
        Path copy = Files.createDirectories(tmp.resolve("runs").resolve(run.id()));
        try (var files = Files.list(run.dir())) {
            for (Path file : files.toList()) {
                Files.copy(file, copy.resolve(file.getFileName()));
            }
        }
        RunRegistry runs = start(true);
        Run recovered = runs.recoverUnfinished().get(0);
        assertEquals(run.id(), recovered.id());
        HandDriven.succeeds(recovered, 0);
        List<JsonNode> got = eventsUntilRunFinished();
        assertEquals(List.of("run-accepted", "task-finished", "run-finished"), types(got));
        assertTrue(got.get(0).get("recovered").asBoolean());
        assertEquals("SUCCEEDED", got.get(2).get("state").asText());
    }

    /**
     * The sender is held (a slow broker) while a large run ends tasks: once the backlog of task events is owed, new
     * ones are dropped, counted (in run-finished too), while run-accepted and run-finished still go out in order.
     */
    @Test
    void aFullBacklogDropsNewTaskEventsButNeverRunAcceptedOrRunFinished() throws Exception {
        gate = new CountDownLatch(1);
        RunRegistry runs = start(true, 3);
        Run big = runs.accept(plan("""
                name: big
                command: [echo, '{item}']
                range: {start: 0, end: 20}
                """, "multiprocessing", 4));
        assertTrue(entered.await(10, TimeUnit.SECONDS), "run-accepted never reached the sink");
        // the sender holds run-accepted of big: 3 task events may be owed, the 7 after them are dropped
        for (int i = 0; i < 10; i++) {
            HandDriven.succeeds(big, i);
        }
        Run other = runs.accept(plan("""
                name: other
                tasks:
                  - {command: [echo, a]}
                """, "sequential", null));
        other.cancel();
        assertTrue(other.finished().isDone());
        assertEquals(7, events.dropped());
        assertEquals(1, events.dropBursts(), "one warning for one burst of drops");
        big.cancel();
        gate.countDown();
        List<String> got = new ArrayList<>();
        JsonNode bigFinished = null;
        for (int i = 0; i < 7; i++) {
            JsonNode event = published.poll(10, TimeUnit.SECONDS);
            assertNotNull(event, "only " + got);
            got.add(event.get("runId").asText() + " " + event.get("event").asText()
                    + (event.has("index") ? " " + event.get("index").asInt() : ""));
            if (event.get("runId").asText().equals(big.id()) && event.get("event").asText().equals("run-finished")) {
                bigFinished = event;
            }
        }
        assertEquals(List.of(big.id() + " run-accepted", big.id() + " task-finished 0", big.id() + " task-finished 1",
                big.id() + " task-finished 2", big.id() + " run-finished"),
                got.stream().filter(e -> e.startsWith(big.id())).toList());
        assertEquals(List.of(other.id() + " run-accepted", other.id() + " run-finished"),
                got.stream().filter(e -> e.startsWith(other.id())).toList());
        assertNotNull(bigFinished);
        assertEquals(7, bigFinished.get("eventsDropped").asInt(), bigFinished.toString());
        assertNull(published.poll(200, TimeUnit.MILLISECONDS), "nothing else");
    }

    private static String eventId(JsonNode event) {
        assertNotNull(event, "no event");
        return event.get("eventId").asText() + " " + event.get("event").asText();
    }

    private Path outbox() {
        return runsDir.resolve(EventOutbox.DIR);
    }

    private List<String> outboxFiles() {
        try (var files = Files.list(outbox())) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        } catch (java.io.IOException e) {
            return List.of();
        }
    }

    private long outboxLines(String runId) {
        try {
            return Files.readAllLines(outbox().resolve(runId + ".jsonl")).size();
        } catch (java.io.IOException e) {
            return -1;
        }
    }

    private void removeLastLine(String runId) throws Exception {
        Path file = outbox().resolve(runId + ".jsonl");
        List<String> lines = Files.readAllLines(file);
        Files.write(file, lines.subList(0, lines.size() - 1));
    }

    private static boolean waitFor(java.util.function.BooleanSupplier condition) {
        return Await.within(java.time.Duration.ofSeconds(10), condition::getAsBoolean);
    }
}
