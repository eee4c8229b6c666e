package dev.drover.cli;

import dev.drover.Await;
import dev.drover.DroverProcesses;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `bin/drover serve --inbox` as a user runs it: what it says about what it refuses. */
class InboxServeIT {

    @TempDir
    Path tmp;

    @Test
    void serveLogsOneLinePerRefusedManifestWithoutAStackTraceOrTheTargetOfALink() throws Exception {
        Path inbox = Files.createDirectories(tmp.resolve("inbox"));
        Path secret = Files.writeString(tmp.resolve("secret"), "TOPSECRET: [\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        try (DroverProcesses drover = new DroverProcesses(tmp)) {
            Process serve = drover.start("serve.log", "serve", "--inbox", inbox.toString(), "--runs-dir",
                    tmp.resolve("runs").toString(), "--no-observe", "-D", "drover.inbox.poll-delay=100",
                    "-D", "drover.inbox.read-lock-interval=100", "-D", "drover.inbox.empty-grace=300");
            Files.createSymbolicLink(inbox.resolve("secret.yaml"), secret);
            assertEquals(0, new ProcessBuilder("mkfifo", inbox.resolve("fifo.yaml").toString()).start().waitFor());
            Files.writeString(inbox.resolve("empty.json"), "");
            for (int i = 0; i < 2; i++) {
                Files.writeString(tmp.resolve(".broken"), "name: broken\ntasks: [{command: []}]\n");
                Files.move(tmp.resolve(".broken"), inbox.resolve("broken.yaml"));
                waitFor(() -> !Files.exists(inbox.resolve("broken.yaml")));
            }
            Files.writeString(tmp.resolve(".ok"), "name: ok\ntasks: [{command: [\"true\"]}]\n");
            Files.move(tmp.resolve(".ok"), inbox.resolve("ok.yaml"));
            waitFor(() -> Files.exists(inbox.resolve(".done/ok.yaml")));
            waitFor(() -> count(inbox.resolve(".error")) == 10); // five refusals, each a file and its reason
            serve.destroy();
            assertTrue(serve.waitFor(60, TimeUnit.SECONDS));
            String log = drover.log("serve.log");
            Map<String, Integer> refusals = Map.of("secret.yaml", 1, "fifo.yaml", 1, "empty.json", 1, "broken.yaml", 2);
            for (Map.Entry<String, Integer> refused : refusals.entrySet()) {
                long lines = log.lines().filter(l -> l.contains("refused " + refused.getKey() + ": ")).count();
                assertEquals((long) refused.getValue(), lines, refused.getKey() + " in\n" + log);
            }
            assertFalse(Pattern.compile("^\\s+at |Exception", Pattern.MULTILINE).matcher(log).find(), log);
            assertFalse(log.contains("TOPSECRET") || log.contains(secret.toString()), log);
        }
    }

    private static long count(Path dir) {
        try (var files = Files.list(dir)) {
            return files.count();
        } catch (Exception e) {
            return -1;
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier condition) {
        Await.until("the condition", java.time.Duration.ofSeconds(60), condition::getAsBoolean);
    }
}
