package dev.drover.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.TaskState;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The events RunEvents hands to the publish-event route, without a broker: the route here only collects them. */
class RunEventsTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path tmp;

    private final CamelContext context = new DefaultCamelContext();
    private final BlockingQueue<JsonNode> published = new LinkedBlockingQueue<>();

    @AfterEach
    void stop() {
        context.stop();
    }

    /** While set, each event waits in the route until it is opened, as with a broker that does not answer. */
    private volatile CountDownLatch gate;
    /** Counted down when an event reaches the route: the sender is then held at the gate. */
    private volatile CountDownLatch entered = new CountDownLatch(1);
    private RunEvents events;

    private RunRegistry start(boolean taskEvents) throws Exception {
        return start(taskEvents, RunEvents.BACKLOG);
    }

    private RunRegistry start(boolean taskEvents, int backlog) throws Exception {
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from(RunEvents.ENDPOINT).process(e -> {
                    entered.countDown();
                    CountDownLatch closed = gate;
                    if (closed != null) {
                        assertTrue(closed.await(30, TimeUnit.SECONDS), "the test never opened the gate");
                    }
                    published.add(JSON.readTree(e.getMessage().getBody(String.class)));
                });
            }
        });
        context.start();
        RunRegistry runs = new RunRegistry(tmp);
        events = new RunEvents(context, 0, taskEvents, backlog);
        events.attach(runs);
        return runs;
    }

    /** Two tasks end, the run is cancelled before the third starts. */
    private static void runAndCancel(RunRegistry runs) {
        Run run = runs.accept(RunPlan.resolve(ManifestReader.parse("""
                name: evented
                tasks:
                  - {id: first, command: [echo, a]}
                  - {id: second, command: [echo, b]}
                  - {id: never, command: [echo, c]}
                """), new RunOptions("sequential", null, null)));
        run.taskStarted(0, 1);
        run.taskFinished(0, 1, TaskState.SUCCEEDED, 0, null);
        run.taskStarted(1, 1);
        run.attemptFailed(1, 1, 7, "exit code 7");
        run.taskStarted(1, 2);
        run.taskFinished(1, 2, TaskState.FAILED, 7, "exit code 7");
        run.cancel();
    }

    private List<String> eventsUntilRunFinished() throws InterruptedException {
        List<String> types = new java.util.ArrayList<>();
        while (!types.contains("run-finished")) {
            JsonNode event = published.poll(10, TimeUnit.SECONDS);
            assertNotNull(event, "no run-finished; got " + types);
            types.add(event.get("event").asText());
            if (event.get("event").asText().equals("task-finished") && event.get("index").asInt() == 1) {
                assertEquals("second", event.get("task").asText());
                assertEquals("FAILED", event.get("state").asText());
                assertEquals(7, event.get("exitCode").asInt());
                assertEquals(2, event.get("attempt").asInt());
                assertEquals("exit code 7", event.get("reason").asText());
                assertTrue(event.get("durationSeconds").isNumber(), event.toString());
            }
        }
        return types;
    }

    @Test
    void eachStartedTaskHasATaskFinishedEventBeforeRunFinished() throws Exception {
        runAndCancel(start(true));
        // the task cancelled before it started has none: run-finished counts it
        assertEquals(List.of("run-accepted", "task-finished", "task-finished", "run-finished"),
                eventsUntilRunFinished());
    }

    @Test
    void taskFinishedEventsCanBeTurnedOff() throws Exception {
        runAndCancel(start(false));
        assertEquals(List.of("run-accepted", "run-finished"), eventsUntilRunFinished());
    }

    /**
     * The sender is held (a slow broker) while a large run ends tasks: once BACKLOG task events wait, new ones are
     * dropped and counted, while another run's run-accepted and run-finished still go out, after the events that
     * were waiting before them.
     */
    @Test
    void aFullBacklogDropsNewTaskEventsButNeverRunAcceptedOrRunFinished() throws Exception {
        gate = new CountDownLatch(1);
        RunRegistry runs = start(true, 3);
        Run big = runs.accept(RunPlan.resolve(ManifestReader.parse("""
                name: big
                command: [echo, '{item}']
                range: {start: 0, end: 20}
                """), new RunOptions("multiprocessing", 4, null)));
        assertTrue(entered.await(10, TimeUnit.SECONDS), "run-accepted never reached the route");
        // the sender holds run-accepted of big: 3 task events may wait, the 7 after them are dropped
        for (int i = 0; i < 10; i++) {
            big.taskStarted(i, 1);
            big.taskFinished(i, 1, TaskState.SUCCEEDED, 0, null);
        }
        Run other = runs.accept(RunPlan.resolve(ManifestReader.parse("""
                name: other
                tasks:
                  - {command: [echo, a]}
                """), new RunOptions("sequential", null, null)));
        other.cancel();
        assertTrue(other.finished().isDone());
        assertEquals(7, events.dropped());
        assertEquals(1, events.dropBursts(), "one warning for one burst of drops");

        gate.countDown();
        assertEquals(List.of(big.id() + " run-accepted", big.id() + " task-finished 0", big.id() + " task-finished 1",
                        big.id() + " task-finished 2", other.id() + " run-accepted", other.id() + " run-finished"),
                take(6));

        // an admitted event ends the burst: dropping again is a new burst, logged again
        gate = new CountDownLatch(1);
        entered = new CountDownLatch(1);
        big.taskStarted(10, 1);
        big.taskFinished(10, 1, TaskState.FAILED, 1, "exit code 1");
        assertTrue(entered.await(10, TimeUnit.SECONDS), "task-finished 10 never reached the route");
        for (int i = 11; i < 16; i++) {
            big.taskStarted(i, 1);
            big.taskFinished(i, 1, TaskState.SUCCEEDED, 0, null);
        }
        big.cancel();
        assertTrue(big.finished().isDone());
        assertEquals(9, events.dropped());
        assertEquals(2, events.dropBursts());
        gate.countDown();
        assertEquals(List.of(big.id() + " task-finished 10", big.id() + " task-finished 11",
                big.id() + " task-finished 12", big.id() + " task-finished 13", big.id() + " run-finished"), take(5));
        assertNull(published.poll(200, TimeUnit.MILLISECONDS), "nothing else");
    }

    /** The next n events as "runId type [index]", each waited for with a deadline. */
    private List<String> take(int n) throws InterruptedException {
        List<String> taken = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            JsonNode event = published.poll(10, TimeUnit.SECONDS);
            assertNotNull(event, "only " + taken);
            taken.add(event.get("runId").asText() + " " + event.get("event").asText()
                    + (event.has("index") ? " " + event.get("index").asInt() : ""));
        }
        return taken;
    }
}
