package dev.drover.camel;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.TestPipeline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The drop-folder intake (routes/intake-file.camel.yaml) as `drover serve --inbox` runs it. */
class InboxIntakeTest {

    @TempDir
    Path inbox;
    @TempDir
    Path runsDir;

    TestPipeline pipeline;

    @BeforeEach
    void serve() throws Exception {
        pipeline = new TestPipeline(runsDir, Map.of("drover.inbox", inbox.toString(), "drover.inbox.enabled", "true",
                "drover.inbox.poll-delay", "100", "drover.inbox.read-lock-interval", "200"));
    }

    @AfterEach
    void stop() throws Exception {
        pipeline.close();
    }

    private static void drop(Path inbox, String name, String content) throws Exception {
        Path temp = inbox.resolve("." + name + ".tmp");
        Files.writeString(temp, content);
        Files.move(temp, inbox.resolve(name));
    }

    private static Path awaitFile(Path file) throws InterruptedException {
        for (int i = 0; i < 300 && !Files.exists(file); i++) {
            Thread.sleep(100);
        }
        assertTrue(Files.exists(file), "expected " + file);
        return file;
    }

    private static String tree(Path root) {
        try (Stream<Path> all = Files.walk(root)) {
            return all.map(p -> root.relativize(p).toString()).sorted().toList().toString();
        } catch (Exception e) {
            return "(unreadable: " + e + ")";
        }
    }

    @Test
    void aSucceedingManifestRunsAndMovesToDone() throws Exception {
        drop(inbox, "ok.yaml", "name: ok\ntasks: [{command: [\"true\"]}, {command: [echo, hi]}]\n");
        awaitFile(inbox.resolve(".done/ok.yaml"));
        assertFalse(Files.exists(inbox.resolve("ok.yaml")));
        try (Stream<Path> runs = Files.list(runsDir)) {
            Path run = runs.findFirst().orElseThrow();
            JsonNode report = TestPipeline.report(run);
            assertEquals("SUCCEEDED", report.get("state").asText());
        }
    }

    @Test
    void aManifestWithAFailingTaskMovesToFailed() throws Exception {
        drop(inbox, "bad-task.json", "{\"name\": \"badtask\", \"tasks\": [{\"command\": [\"false\"]}]}");
        awaitFile(inbox.resolve(".failed/bad-task.json"));
    }

    @Test
    void anInvalidManifestMovesToErrorWithTheReasonAndTheDaemonGoesOn() throws Exception {
        drop(inbox, "broken.yaml", "name: broken\ntasks: [{command: echo}]\n");
        drop(inbox, "garbage.json", "{ not json");
        Path reason = awaitFile(inbox.resolve(".error/broken.yaml.error.txt"));
        assertTrue(Files.readString(reason).contains("tasks[0].command"), Files.readString(reason));
        awaitFile(inbox.resolve(".error/broken.yaml"));
        awaitFile(inbox.resolve(".error/garbage.json.error.txt"));
        drop(inbox, "after.yaml", "name: after\ntasks: [{command: [\"true\"]}]\n");
        awaitFile(inbox.resolve(".done/after.yaml"));
    }

    @Test
    void aFileStillBeingWrittenIsNotPickedUpHalfWay() throws Exception {
        Path file = inbox.resolve("slow.yaml");
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write("name: slow\ntasks:\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            for (int i = 0; i < 5; i++) {
                Thread.sleep(150);
                out.write("  - command: [\"true\"]\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        }
        awaitFile(inbox.resolve(".done/slow.yaml"));
        assertFalse(Files.exists(inbox.resolve(".error")), "never read half-written");
    }

    @Test
    void theSameManifestDroppedTwiceRunsOnce() throws Exception {
        Path count = inbox.getParent().resolve(inbox.getFileName() + "-count");
        String manifest = "name: once\ntasks: [{command: [sh, -c, 'echo x >> %s']}]\n".formatted(count);
        drop(inbox, "once.yaml", manifest);
        awaitFile(inbox.resolve(".done/once.yaml"));
        drop(inbox, "once-again.yaml", manifest);
        awaitFile(inbox.resolve(".done/once-again.yaml"));
        assertEquals(1, Files.readAllLines(count).size());
        try (Stream<Path> runs = Files.list(runsDir)) {
            assertEquals(1, runs.count());
        }
    }

    @Test
    void fiftyManifestsDroppedAtOnceMakeFiftyRunsNoneLostNoneTwice() throws Exception {
        Path ran = Files.createDirectories(inbox.getParent().resolve(inbox.getFileName() + "-ran"));
        for (int i = 0; i < 50; i++) {
            drop(inbox, "m" + i + ".yaml", "name: m%d\ntasks: [{command: [sh, -c, 'echo x >> %s/%d']}]\n"
                    .formatted(i, ran, i));
        }
        // One deadline for all fifty: they finish in any order, and a slow machine is slow for all of them.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        for (int i = 0; i < 50; i++) {
            Path done = inbox.resolve(".done/m" + i + ".yaml");
            while (!Files.exists(done) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(Files.exists(done), () -> "expected " + done + "; the inbox holds " + tree(inbox));
        }
        for (int i = 0; i < 50; i++) {
            assertEquals(1, Files.readAllLines(ran.resolve(Integer.toString(i))).size(), "manifest " + i + " ran once");
        }
        try (Stream<Path> runs = Files.list(runsDir)) {
            assertEquals(50, runs.count());
        }
    }

    @Test
    void severalManifestsRunAtOnce() throws Exception {
        Path marker = inbox.getParent().resolve(inbox.getFileName() + "-both");
        // Each waits (up to 10 s) for the other to have started: only concurrent runs finish quickly.
        drop(inbox, "a.yaml", "name: a\ntasks: [{command: [sh, -c, 'touch %1$s-a; for i in $(seq 100); do [ -e %1$s-b ] && exit 0; sleep 0.1; done; exit 1']}]\n".formatted(marker));
        drop(inbox, "b.yaml", "name: b\ntasks: [{command: [sh, -c, 'touch %1$s-b; for i in $(seq 100); do [ -e %1$s-a ] && exit 0; sleep 0.1; done; exit 1']}]\n".formatted(marker));
        awaitFile(inbox.resolve(".done/a.yaml"));
        awaitFile(inbox.resolve(".done/b.yaml"));
    }
}
