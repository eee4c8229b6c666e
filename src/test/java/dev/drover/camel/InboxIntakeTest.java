package dev.drover.camel;

import java.time.Duration;
import dev.drover.Await;
import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.TestPipeline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
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
                "drover.inbox.poll-delay", "100", "drover.inbox.read-lock-interval", "200",
                "drover.inbox.empty-grace", "1000", "drover.manifest.max-bytes", "4096"));
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

    private static Path awaitFile(Path file) {
        Await.until(file.toString(), Duration.ofSeconds(30), () -> Files.exists(file));
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

    /** The STAMP-NAME.error.txt files of a name in .error, once there are {@code count} of them. */
    private static List<Path> awaitRejected(Path inbox, String name, int count) throws Exception {
        Duration deadline = Duration.ofSeconds(30);
        Await.within(deadline, () -> rejected(inbox, name).size() >= count); // asserted below, with what is there
        List<Path> reasons = rejected(inbox, name);
        assertEquals(count, reasons.size(), () -> name + ": the inbox holds " + tree(inbox));
        for (Path reason : reasons) {
            Path manifest = Path.of(reason.toString().replaceFirst("\\.error\\.txt$", ""));
            Await.until("the manifest beside " + reason, deadline,
                    () -> Files.exists(manifest, LinkOption.NOFOLLOW_LINKS));
        }
        return reasons;
    }

    private static List<Path> rejected(Path inbox, String name) throws Exception {
        if (!Files.isDirectory(inbox.resolve(".error"))) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(inbox.resolve(".error"))) {
            return files.filter(f -> f.getFileName().toString().matches("\\d{8}T\\d{6}\\.\\d{3}Z(-\\d+)?-"
                    + Pattern.quote(name) + "\\.error\\.txt")).sorted().toList();
        }
    }

    @Test
    void anInvalidManifestMovesToErrorWithTheReasonAndTheDaemonGoesOn() throws Exception {
        drop(inbox, "broken.yaml", "name: broken\ntasks: [{command: echo}]\n");
        drop(inbox, "garbage.json", "{ not json");
        Path reason = awaitRejected(inbox, "broken.yaml", 1).get(0);
        assertTrue(Files.readString(reason).contains("tasks[0].command"), Files.readString(reason));
        awaitRejected(inbox, "garbage.json", 1);
        drop(inbox, "after.yaml", "name: after\ntasks: [{command: [\"true\"]}]\n");
        awaitFile(inbox.resolve(".done/after.yaml"));
    }

    /** A valid manifest dropped among everything that held the folder up: it starts within seconds, the rest is refused. */
    @Test
    void aValidManifestStartsWithinSecondsWhateverElseLiesInTheFolder() throws Exception {
        Path outside = Files.createDirectories(inbox.getParent().resolve(inbox.getFileName() + "-outside"));
        Path secret = Files.writeString(outside.resolve("secret"), "TOPSECRET\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Path linkedRan = outside.resolve("linked-ran");
        Path linked = Files.writeString(outside.resolve("linked.yaml"),
                "name: linked\ntasks: [{command: [touch, '%s']}]\n".formatted(linkedRan));
        Files.writeString(inbox.resolve("empty.yaml"), "");
        Files.setLastModifiedTime(inbox.resolve("empty.yaml"), FileTime.fromMillis(System.currentTimeMillis() - 60_000));
        Files.writeString(inbox.resolve("fresh-empty.yaml"), "");
        long freshEmpty = Files.getLastModifiedTime(inbox.resolve("fresh-empty.yaml")).toMillis();
        assertEquals(0, new ProcessBuilder("mkfifo", inbox.resolve("fifo.yaml").toString()).start().waitFor());
        Files.createDirectories(inbox.resolve("folder.json"));
        Files.createSymbolicLink(inbox.resolve("secret.yaml"), secret);
        Files.createSymbolicLink(inbox.resolve("linked.yaml"), linked);
        Files.createSymbolicLink(inbox.resolve("dangling.yml"), outside.resolve("nothing"));
        Files.createSymbolicLink(inbox.resolve("dir-link.json"), outside);
        Files.writeString(inbox.resolve("huge.yaml"), "name: huge\n" + "#".repeat(10_000) + "\n");
        Files.write(inbox.resolve("latin1.yaml"), "name: caf\u00e9\ntasks: [{command: [\"true\"]}]\n"
                .getBytes(StandardCharsets.ISO_8859_1));
        Files.writeString(inbox.resolve("notes.txt"), "not a manifest");
        try (ServerSocketChannel socket = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            socket.bind(UnixDomainSocketAddress.of(inbox.resolve("socket.yaml")));
            // a writer that keeps its file growing: never taken half-written, and never holds the others up
            Thread writer = new Thread(() -> {
                try (OutputStream out = Files.newOutputStream(inbox.resolve("growing.yaml"))) {
                    out.write("name: growing\ntasks:\n".getBytes(StandardCharsets.UTF_8));
                    for (int i = 0; i < 60; i++) {
                        out.write("  - command: [\"true\"]\n".getBytes(StandardCharsets.UTF_8));
                        out.flush();
                        Thread.sleep(100);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            writer.start();
            Thread.sleep(300); // a poll or two goes by with all of it in the folder
            long dropped = System.nanoTime();
            drop(inbox, "ok.yaml", "name: ok\ntasks: [{command: [\"true\"]}]\n");
            awaitFile(inbox.resolve(".done/ok.yaml"));
            double seconds = (System.nanoTime() - dropped) / 1e9;
            System.out.println("a valid manifest among hostile entries ran in " + seconds + " s");
            // readLock=changed took 60 s per empty file and poll; a FIFO held the folder for good
            assertTrue(seconds < 8, "the valid manifest took " + seconds + " s");
            assertTrue(writer.isAlive(), "the test's writer was still writing while ok.yaml ran");
            assertFalse(Files.exists(inbox.resolve(".error/growing.yaml")));
            writer.join();
        }
        awaitFile(inbox.resolve(".done/growing.yaml"));
        Map<String, String> reasons = Map.of("empty.yaml", "is empty", "fifo.yaml", "not a regular file",
                "folder.json", "is a directory", "secret.yaml", "symbolic link", "linked.yaml", "symbolic link",
                "dangling.yml", "symbolic link", "dir-link.json", "symbolic link", "huge.yaml", "more than the limit of 4096",
                "latin1.yaml", "not UTF-8", "socket.yaml", "not a regular file");
        for (Map.Entry<String, String> expected : reasons.entrySet()) {
            Path reason = awaitRejected(inbox, expected.getKey(), 1).get(0);
            String text = Files.readString(reason);
            assertTrue(text.startsWith(expected.getKey() + ": ") && text.contains(expected.getValue()), text);
            assertFalse(text.contains("TOPSECRET") || text.contains(outside.toString()), "quotes its target: " + text);
        }
        assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(
                rejected(inbox, "secret.yaml").get(0)), "a link's reason is private");
        assertFalse(Files.exists(linkedRan), "a linked manifest never runs");
        assertEquals("TOPSECRET\n", Files.readString(secret), "a link's target is left alone");
        assertTrue(Files.exists(inbox.resolve("notes.txt")), "other names are left alone");
        String stamp = awaitRejected(inbox, "fresh-empty.yaml", 1).get(0).getFileName().toString().substring(0, 20);
        long refused = java.time.Instant.from(java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSSX")
                .parse(stamp)).toEpochMilli();
        assertTrue(refused - freshEmpty >= 1000, "a new empty file may still be filled: refused after "
                + (refused - freshEmpty) + " ms");
        try (Stream<Path> runs = Files.list(runsDir)) {
            assertEquals(2, runs.count(), "ok and growing ran, nothing else: " + tree(inbox));
        }
    }

    @Test
    void aRejectedNameDroppedAgainKeepsBothAndTheReasonIsNoMoreReadableThanTheManifest() throws Exception {
        for (String mode : List.of("rw-------", "rw-r-----")) {
            Path temp = inbox.resolve(".again.tmp");
            Files.writeString(temp, "name: again\ntasks: [{command: echo, mode: '" + mode + "'}]\n");
            Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString(mode));
            Files.move(temp, inbox.resolve("again.yaml"));
            Path reason = awaitRejected(inbox, "again.yaml", mode.equals("rw-------") ? 1 : 2).get(
                    mode.equals("rw-------") ? 0 : 1);
            assertEquals(PosixFilePermissions.fromString(mode), Files.getPosixFilePermissions(reason), reason.toString());
        }
        List<Path> reasons = rejected(inbox, "again.yaml");
        List<String> manifests = new java.util.ArrayList<>();
        for (Path reason : reasons) {
            manifests.add(Files.readString(Path.of(reason.toString().replaceFirst("\\.error\\.txt$", ""))));
        }
        assertTrue(manifests.get(0).contains("rw-------") && manifests.get(1).contains("rw-r-----"), manifests.toString());
    }

    @Test
    void foldersThatAreLinksAreMovedAsideNeverWrittenThrough() throws Exception {
        Path elsewhere = Files.createDirectories(inbox.getParent().resolve(inbox.getFileName() + "-elsewhere"));
        for (String folder : List.of(".done", ".failed", ".error")) {
            Files.createSymbolicLink(inbox.resolve(folder), elsewhere);
        }
        assertEquals(0, new ProcessBuilder("mkfifo", inbox.resolve("fifo.yaml").toString()).start().waitFor());
        drop(inbox, "broken.yaml", "name: broken\ntasks: [{command: []}]\n");
        drop(inbox, "fails.yaml", "name: fails\ntasks: [{command: [\"false\"]}]\n");
        drop(inbox, "ok.yaml", "name: ok\ntasks: [{command: [\"true\"]}]\n");
        awaitFile(inbox.resolve(".done/ok.yaml"));
        awaitFile(inbox.resolve(".failed/fails.yaml"));
        for (String folder : List.of(".done", ".failed", ".error")) {
            assertFalse(Files.isSymbolicLink(inbox.resolve(folder)), folder);
        }
        try (Stream<Path> errors = Files.list(inbox.resolve(".error"))) {
            List<String> names = errors.map(p -> p.getFileName().toString()).toList();
            assertTrue(names.stream().anyMatch(n -> n.endsWith("-broken.yaml")), names.toString());
            assertTrue(names.stream().anyMatch(n -> n.endsWith("-fifo.yaml")), names.toString());
        }
        try (Stream<Path> written = Files.list(elsewhere)) {
            assertEquals(List.of(), written.toList(), "nothing written through a link");
        }
        try (Stream<Path> aside = Files.list(inbox)) {
            assertEquals(3, aside.filter(p -> p.getFileName().toString().contains(".refused-"))
                    .filter(Files::isSymbolicLink).count(), tree(inbox));
        }
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
        try (Stream<Path> errors = Files.list(inbox.resolve(".error"))) {
            assertEquals(List.of(), errors.toList(), "never read half-written");
        }
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
        boolean allDone = Await.within(Duration.ofSeconds(120), () -> {
            for (int i = 0; i < 50; i++) {
                if (!Files.exists(inbox.resolve(".done/m" + i + ".yaml"))) {
                    return false;
                }
            }
            return true;
        });
        assertTrue(allDone, () -> "not all fifty in .done; the inbox holds " + tree(inbox));
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
