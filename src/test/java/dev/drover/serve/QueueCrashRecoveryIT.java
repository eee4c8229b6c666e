package dev.drover.serve;

import dev.drover.Await;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.DroverProcesses;
import jakarta.jms.JMSConsumer;
import jakarta.jms.JMSContext;
import jakarta.jms.Message;
import jakarta.jms.TextMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Integration test (after packaging): `drover serve --queue` (bin/drover) killed with SIGKILL while its runs go on,
 * then started again: every run still gets its run-finished, and each run's events, duplicates dropped by eventId,
 * are numbered 1..n without a gap.
 */
class QueueCrashRecoveryIT {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int RUNS = 4;

    @TempDir
    Path dir;
    DroverProcesses drover;

    @AfterEach
    void stop() {
        if (drover != null) {
            drover.close();
        }
    }

    @Test
    void aKilledServeStillAnnouncesTheEndOfEveryRunAfterItsRestart() throws Exception {
        drover = new DroverProcesses(dir);
        Path runs = dir.resolve("runs");
        try (TestBroker broker = new TestBroker(dir.resolve("broker"), true); JMSContext jms = broker.client()) {
            String[] serve = {"serve", "--queue", broker.url(), "--queue-name", "crash", "--no-observe",
                    "--runs-dir", runs.toString(), "-D", "drover.events.destination=queue:crash.events"};
            Process first = drover.start("first.log", serve);
            for (int i = 0; i < RUNS; i++) {
                jms.createProducer().send(jms.createQueue("crash"), """
                        name: crash-%d
                        jobs: 1
                        command: [sh, -c, 'sleep 0.4; echo {item}']
                        range: {end: 3}
                        """.formatted(i));
            }
            Path runDir = DroverProcesses.awaitRunDir(runs);
            DroverProcesses.awaitEnded(runDir, 1);
            DroverProcesses.kill(first);

            drover.start("second.log", serve);
            JMSConsumer consumer = jms.createConsumer(jms.createQueue("crash.events"));
            Map<String, List<JsonNode>> byRun = new TreeMap<>();
            Set<String> seen = new HashSet<>();
            long deadline = System.currentTimeMillis() + 180_000;
            while (finishedRuns(byRun) < RUNS && System.currentTimeMillis() < deadline) {
                Message message = consumer.receive(1000);
                if (message != null) {
                    JsonNode event = JSON.readTree(((TextMessage) message).getText());
                    if (seen.add(event.get("eventId").asText())) {
                        byRun.computeIfAbsent(event.get("runId").asText(), k -> new ArrayList<>()).add(event);
                    }
                }
            }
            assertEquals(RUNS, finishedRuns(byRun), byRun.keySet() + "\n" + drover.log("second.log"));
            for (List<JsonNode> events : byRun.values()) {
                List<Integer> seqs = events.stream().map(e -> e.get("seq").asInt()).sorted().toList();
                for (int i = 0; i < seqs.size(); i++) {
                    assertEquals(i + 1, seqs.get(i), "numbered without a gap: " + events);
                }
                assertEquals("run-accepted", events.get(0).get("event").asText(), events.toString());
                List<JsonNode> finished = events.stream()
                        .filter(e -> e.get("event").asText().equals("run-finished")).toList();
                assertEquals(1, finished.size(), events.toString());
                assertEquals("SUCCEEDED", finished.get(0).get("state").asText());
                assertEquals(3, finished.get(0).get("counts").get("succeeded").asInt());
            }
            assertTrue(waitForEmpty(runs.resolve(EventOutbox.DIR)), "nothing left owed in the outbox");
        }
    }

    private static long finishedRuns(Map<String, List<JsonNode>> byRun) {
        return byRun.values().stream().filter(events -> events.stream()
                .anyMatch(e -> e.get("event").asText().equals("run-finished"))).count();
    }

    private static boolean waitForEmpty(Path outbox) {
        return Await.within(java.time.Duration.ofSeconds(10), () -> {
            try (var files = Files.list(outbox)) {
                return files.findAny().isEmpty();
            }
        });
    }
}
