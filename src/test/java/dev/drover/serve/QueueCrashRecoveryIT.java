package dev.drover.serve;

import dev.drover.Await;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.DroverProcesses;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
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

    /**
     * The class of crash the message commit is about: serve killed while its consumers are accepting runs side by
     * side (some messages committed, some recorded and not yet committed, some being recorded). After the restart
     * every manifest has run exactly once: one run directory per manifest, none lost, none twice.
     */
    @Test
    void manifestsAcceptedSideBySideWhenServeIsKilledRunOnceEach() throws Exception {
        drover = new DroverProcesses(dir);
        Path runs = dir.resolve("runs");
        int manifests = 120;
        try (TestBroker broker = new TestBroker(dir.resolve("broker"), true); JMSContext jms = broker.client()) {
            String[] serve = {"serve", "--queue", broker.url(), "--queue-name", "burst", "--no-observe",
                    "--runs-dir", runs.toString(), "-D", "drover.events.destination="};
            for (int i = 0; i < manifests; i++) {
                jms.createProducer().send(jms.createQueue("burst"), "name: burst-%d\ncommand: [echo, '{item}']\n"
                        .formatted(i) + "range: {end: 1}\n");
            }
            Process first = drover.start("first.log", serve);
            // killed in the middle of the burst, while the consumers go on accepting: most messages still on the
            // broker, and (each consumer spends about half its time between recording a run and its commit) some
            // recorded and not yet committed, which the broker delivers again
            Await.until("the first runs recorded", java.time.Duration.ofSeconds(120),
                    () -> runDirs(runs).size() >= 10);
            DroverProcesses.kill(first);
            int recordedBeforeTheKill = runDirs(runs).size();

            Process second = drover.start("second.log", serve);
            awaitEveryManifestRun(broker, runs, manifests, second);
            // a directory the kill left without its journal is no run (recovery passes it by); every other is one
            List<String> names = runDirs(runs).stream().filter(run -> Files.exists(run.resolve("journal.log")))
                    .map(QueueCrashRecoveryIT::manifestName)
                    .sorted().toList();
            assertEquals(manifests, names.size(), "one run per manifest (" + recordedBeforeTheKill
                    + " run directories before the kill): " + names + "\n" + drover.log("second.log"));
            assertEquals(manifests, new HashSet<>(names).size(), "no manifest ran twice: " + names);
        }
    }

    /**
     * A kill between creating a run's journal and writing its first line (as an older drover wrote it) leaves a run
     * directory with plan.json and an empty journal; its manifest, never acknowledged, comes again. It runs once,
     * instead of being taken for that earlier run, failing to load it and rolling back without end.
     */
    @Test
    void aManifestWhoseRunAKillLeftWithoutAJournalLineRunsWhenItComesAgain() throws Exception {
        drover = new DroverProcesses(dir);
        Path runs = dir.resolve("runs");
        int manifests = 3;
        try (TestBroker broker = new TestBroker(dir.resolve("broker"), true); JMSContext jms = broker.client()) {
            for (int i = 0; i < manifests; i++) {
                String text = "name: burst-%d\ncommand: [echo, '{item}']\nrange: {end: 1}\n".formatted(i);
                if (i == 0) {
                    Run cut = new RunRegistry(runs).accept(RunPlan.resolve(ManifestReader.parse(text),
                            RunOptions.NONE), true);
                    cut.cancel();
                    cut.finished().get();
                    Files.delete(cut.dir().resolve("report.json"));
                    Files.write(cut.dir().resolve("journal.log"), new byte[0]);
                }
                jms.createProducer().send(jms.createQueue("burst"), text);
            }
            Process serve = drover.start("second.log", "serve", "--queue", broker.url(), "--queue-name", "burst",
                    "--no-observe", "--runs-dir", runs.toString(), "-D", "drover.events.destination=");
            awaitEveryManifestRun(broker, runs, manifests, serve);
        }
    }

    /**
     * Waits for a finished run of every manifest and the queue empty. Usually 10 s; a restart that is stuck (a
     * message rolled back without end, a consumer blocked for good) fails once nothing has moved for a minute,
     * saying what is stuck, rather than after the whole deadline with only that it was not met.
     */
    private void awaitEveryManifestRun(TestBroker broker, Path runs, int manifests, Process serve) throws Exception {
        String[] seen = {""};
        long[] movedAt = {System.nanoTime()};
        try {
            Await.until("a finished run for every manifest", java.time.Duration.ofSeconds(300), () -> {
                long queued = broker.messageCount("burst");
                int finished = finishedNames(runs).size();
                String now = finished + " finished, " + queued + " queued";
                if (!now.equals(seen[0])) {
                    seen[0] = now;
                    movedAt[0] = System.nanoTime();
                } else if (System.nanoTime() - movedAt[0] > java.time.Duration.ofSeconds(60).toNanos()) {
                    throw new AssertionError("stuck for a minute at " + now);
                }
                return finished >= manifests && queued == 0;
            });
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + stuck(broker, runs, manifests, serve), e);
        }
    }

    /** What a stuck restart left: manifests without a finished run, runs without a report, the queue, serve. */
    private String stuck(TestBroker broker, Path runs, int manifests, Process serve) throws Exception {
        Set<String> ran = new HashSet<>();
        StringBuilder unfinished = new StringBuilder();
        for (Path run : runDirs(runs)) {
            if (Files.exists(run.resolve("report.json"))) {
                ran.add(manifestName(run));
                continue;
            }
            try (var files = Files.list(run)) {
                unfinished.append("\n  ").append(run.getFileName()).append(": ")
                        .append(files.map(f -> f.getFileName().toString()).sorted().toList());
            }
            if (Files.exists(run.resolve("journal.log"))) {
                unfinished.append("\n    journal: ").append(Files.readString(run.resolve("journal.log")).strip()
                        .replace("\n", "\n             "));
            }
        }
        List<String> missing = java.util.stream.IntStream.range(0, manifests).mapToObj(i -> "burst-" + i)
                .filter(name -> !ran.contains(name)).toList();
        Path threads = Path.of("target", "failsafe-reports", "QueueCrashRecoveryIT-serve.jstack");
        Files.createDirectories(threads.getParent());
        new ProcessBuilder("jstack", Long.toString(serve.pid())).redirectErrorStream(true)
                .redirectOutput(threads.toFile()).start().waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
        List<String> log = drover.log("second.log").lines().toList();
        return "manifests without a finished run: " + missing
                + "\nrun directories without report.json:" + (unfinished.length() == 0 ? " none" : unfinished)
                + "\nqueue burst: " + broker.messageCount("burst") + " messages, the most deliveries of one "
                + broker.failedDeliveries("burst") + "; error queue: " + broker.messageCount("drover.manifests.error")
                + "\nserve " + (serve.isAlive() ? "alive, its threads in " + threads.toAbsolutePath() : "exited")
                + "; the end of its log:\n" + String.join("\n", log.subList(Math.max(0, log.size() - 40), log.size()));
    }

    private static String manifestName(Path run) {
        return run.getFileName().toString().replaceAll("-\\d{8}-\\d{6}-[0-9a-f]{4}$", "");
    }

    private static List<Path> runDirs(Path runs) throws java.io.IOException {
        if (!Files.isDirectory(runs)) {
            return List.of();
        }
        try (var dirs = Files.list(runs)) {
            return dirs.filter(d -> !d.getFileName().toString().startsWith(".")).toList();
        }
    }

    private static Set<String> finishedNames(Path runs) throws java.io.IOException {
        Set<String> names = new HashSet<>();
        for (Path run : runDirs(runs)) {
            if (Files.exists(run.resolve("report.json"))) {
                names.add(run.getFileName().toString());
            }
        }
        return names;
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
