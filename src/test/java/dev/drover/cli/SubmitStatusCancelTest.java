package dev.drover.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.camel.DroverRuntime;
import dev.drover.run.Run;
import dev.drover.serve.TestBroker;
import jakarta.jms.JMSContext;
import jakarta.jms.Message;
import jakarta.jms.TextMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** drover submit, status and cancel, run through the real command line. */
class SubmitStatusCancelTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String HELLO = "name: hello\ntasks:\n  - {command: [echo, hi]}\n";

    @TempDir
    Path tmp;

    /** Exit code, stdout and stderr of one drover command. */
    record Result(int exit, String out, String err) {
    }

    static Result drover(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
        ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(outBytes, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(errBytes, true, StandardCharsets.UTF_8));
            var cli = DroverCommand.commandLine();
            cli.setErr(new java.io.PrintWriter(System.err, true));
            int exit = cli.execute(args);
            System.out.flush();
            System.err.flush();
            return new Result(exit, outBytes.toString(StandardCharsets.UTF_8), errBytes.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void submitDropsIntoTheInboxByRenameAndNeverReplacesAFile() throws Exception {
        Path manifest = Files.writeString(tmp.resolve("hello.yaml"), HELLO);
        Path inbox = Files.createDirectories(tmp.resolve("inbox"));
        Result first = drover("submit", manifest.toString(), "--inbox", inbox.toString());
        Result second = drover("submit", manifest.toString(), "--inbox", inbox.toString());
        assertEquals(0, first.exit(), first.err());
        assertEquals(0, second.exit(), second.err());
        assertEquals(HELLO, Files.readString(inbox.resolve("hello.yaml")));
        assertEquals(HELLO, Files.readString(inbox.resolve("hello-2.yaml")));
        try (Stream<Path> files = Files.list(inbox)) {
            assertEquals(2, files.count(), "no temporary file is left behind");
        }
    }

    @Test
    void submitRefusesAnInvalidManifestAndSendsNothing() throws Exception {
        Path manifest = Files.writeString(tmp.resolve("bad.yaml"), "name: bad\ntasks:\n  - {command: []}\n");
        Path inbox = Files.createDirectories(tmp.resolve("inbox"));
        Result toInbox = drover("submit", manifest.toString(), "--inbox", inbox.toString());
        assertEquals(2, toInbox.exit());
        assertTrue(toInbox.err().contains("tasks[0].command"), toInbox.err());
        try (Stream<Path> files = Files.list(inbox)) {
            assertEquals(0, files.count());
        }
        // validated before any connection: no broker listens here
        Result toQueue = drover("submit", manifest.toString(), "--queue", "tcp://127.0.0.1:1");
        assertEquals(2, toQueue.exit(), toQueue.err());
    }

    @Test
    void submitSendsTheManifestToTheQueue() throws Exception {
        Path manifest = Files.writeString(tmp.resolve("hello.yaml"), HELLO);
        try (TestBroker broker = new TestBroker(tmp.resolve("broker")); JMSContext jms = broker.client()) {
            Result sent = drover("submit", manifest.toString(), "--queue", broker.url(), "--queue-name", "incoming");
            assertEquals(0, sent.exit(), sent.err());
            Message message = jms.createConsumer(jms.createQueue("incoming")).receive(5000);
            assertNotNull(message);
            assertEquals(HELLO, ((TextMessage) message).getText());
        }
        Result noBroker = drover("submit", manifest.toString(), "--queue", "tcp://127.0.0.1:" + TestBroker.freePort());
        assertEquals(1, noBroker.exit());
    }

    @Test
    void statusCountsTasksFromReportAndJournal() throws Exception {
        Path runs = tmp.resolve("runs");
        Path done = Files.createDirectories(runs.resolve("done-1"));
        Files.writeString(done.resolve("journal.log"), "accepted\t1700000000000\tdone-1\tsequential\t2\n");
        Files.writeString(done.resolve("plan.json"), "{\"tasks\": 2}");
        Files.writeString(done.resolve("report.json"), """
                {"runId": "done-1", "name": "done", "strategy": "sequential", "state": "FAILED",
                 "acceptedAt": "2023-11-14T22:13:20Z", "finishedAt": "2023-11-14T22:14:00Z",
                 "counts": {"succeeded": 1, "failed": 1, "cancelled": 0}, "tasks": [{"id": "0"}, {"id": "1"}]}
                """);
        Path busy = Files.createDirectories(runs.resolve("busy-2"));
        Files.writeString(busy.resolve("journal.log"), String.join("\n",
                "accepted\t1700000100000\tbusy-2\tmultiprocessing\t4",
                "start\t1700000100001\t0\t1", "end\t1700000100002\t0\t1\tSUCCEEDED\t0\t",
                "start\t1700000100003\t1\t1", "retry\t1700000100004\t1\t1\t1\tboom",
                "start\t1700000100005\t1\t2", "start\t1700000100006\t2\t1",
                // the last line was cut short by a crash: not read
                "end\t1700000100007\t2\t1\tFAIL"));

        Result all = drover("status", "--runs-dir", runs.toString());
        assertEquals(0, all.exit(), all.err());
        assertTrue(all.out().matches("(?s).*done-1 +FAILED +2 +1 +1 +0 +0 +0 .*"), all.out());
        assertTrue(all.out().matches("(?s).*busy-2 +RUNNING +4 +1 +0 +0 +2 +1 .*"), all.out());

        Result one = drover("status", "busy-2", "--runs-dir", runs.toString(), "--json");
        assertEquals(0, one.exit(), one.err());
        JsonNode json = JSON.readTree(one.out());
        assertEquals("RUNNING", json.get("state").asText());
        assertEquals(Map.of("pending", 1, "running", 2, "succeeded", 1, "failed", 0, "cancelled", 0),
                JSON.convertValue(json.get("counts"), Map.class));
        assertEquals(busy.resolve("logs").toString(), json.get("logs").asText());

        Result text = drover("status", "done-1", "--runs-dir", runs.toString());
        assertTrue(text.out().contains("report    " + done.resolve("report.json")), text.out());
        assertEquals(2, drover("status", "nope", "--runs-dir", runs.toString()).exit());
    }

    @Test
    void cancelStopsARunOfAnotherDroverAndWaitsForItsReport() throws Exception {
        Path runs = tmp.resolve("runs");
        String slow = "name: slow\nstrategy: sequential\ntasks:\n"
                + "  - {command: [sleep, '30']}\n  - {command: [sleep, '30']}\n";
        try (DroverRuntime owner = DroverRuntime.start(DroverRuntime.home(),
                Map.of("drover.runs-dir", runs.toString()))) {
            Run run = owner.record(slow);
            owner.feed(run);
            long started = System.nanoTime();
            Result cancel = drover("cancel", run.id(), "--runs-dir", runs.toString(), "--timeout", "20");
            assertEquals(0, cancel.exit(), cancel.out() + cancel.err());
            assertTrue(cancel.out().contains("CANCELLED"), cancel.out());
            assertTrue(System.nanoTime() - started < 15_000_000_000L, "cancelled well before the tasks end");
            JsonNode report = JSON.readTree(run.dir().resolve("report.json").toFile());
            assertEquals("CANCELLED", report.get("state").asText());
            assertTrue(Files.exists(run.dir().resolve("cancel-requested")));
            // a second cancel of a cancelled run succeeds at once
            assertEquals(0, drover("cancel", run.id(), "--runs-dir", runs.toString()).exit());
        }
    }

    @Test
    void cancelWithoutAnOwnerLeavesTheRequestAndFails() throws Exception {
        Path runs = tmp.resolve("runs");
        Path orphan = Files.createDirectories(runs.resolve("orphan-1"));
        Files.writeString(orphan.resolve("journal.log"), "accepted\t1700000000000\torphan-1\tsequential\t1\n");
        Result cancel = drover("cancel", "orphan-1", "--runs-dir", runs.toString(), "--timeout", "1");
        assertEquals(1, cancel.exit());
        assertTrue(cancel.err().contains("has not stopped"), cancel.err());
        assertTrue(Files.exists(orphan.resolve("cancel-requested")));
        assertEquals(2, drover("cancel", "missing", "--runs-dir", runs.toString()).exit());
    }
}
