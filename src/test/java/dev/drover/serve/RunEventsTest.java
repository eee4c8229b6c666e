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
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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

    private RunRegistry start(boolean taskEvents) throws Exception {
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from(RunEvents.ENDPOINT).process(e -> published.add(JSON.readTree(e.getMessage().getBody(String.class))));
            }
        });
        context.start();
        RunRegistry runs = new RunRegistry(tmp);
        new RunEvents(context, 0, taskEvents).attach(runs);
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
}
