package dev.drover.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A configuration file with a key deleted or given a value of the wrong kind: the command says so in one line naming
 * the key and the file, exit 2, no stack trace. Runs drover as its own process on an installation (DROVER_HOME) whose
 * config/application.properties is drover's own with that one line changed.
 */
class SettingsErrorsTest {

    @TempDir
    Path home;

    @Test
    void aMissingKeyNamesItAndTheFile() throws Exception {
        Path config = install("drover.runs-dir", null);
        String err = userError("status");
        assertEquals("drover: drover.runs-dir: is not set: give it a value in " + config + " (drover's own copy of"
                + " that file has every key, with its default)", err);
    }

    @Test
    void aMalformedKeyNamesItsValueAndTheFile() throws Exception {
        Path config = install("drover.slurm.max-array-size", "lots");
        Path manifest = Files.writeString(home.resolve("m.yaml"), """
                name: m
                strategy: slurm
                jobResources: {time: "1:00"}
                command: ['true']
                range: {start: 0, end: 2}
                """);
        String err = userError("run", manifest.toString(), "--dry-run", "--runs-dir", home.resolve("runs").toString());
        assertEquals("drover: drover.slurm.max-array-size: 'lots' in " + config + " is not a whole number", err);
    }

    @Test
    void aPipelineCommandStopsTheSameWay() throws Exception {
        install("drover.local.kill-grace", "soon");
        Files.createSymbolicLink(home.resolve("routes"), Path.of("routes").toAbsolutePath());
        Path manifest = Files.writeString(home.resolve("m.yaml"), "name: m\ntasks: [{command: ['true']}]\n");
        String err = userError("run", manifest.toString(), "--runs-dir", home.resolve("runs").toString());
        // Camel's resolved properties: the file is named relative to the installation
        assertEquals("drover: drover.local.kill-grace: 'soon' in config/application.properties is not a number of"
                + " seconds", err);
    }

    /** drover's own configuration with key's line replaced (value) or dropped (null). */
    private Path install(String key, String value) throws IOException {
        List<String> lines = new ArrayList<>();
        boolean found = false;
        for (String line : Files.readAllLines(Path.of("config/application.properties"))) {
            if (line.startsWith(key + " ") || line.startsWith(key + "=")) {
                found = true;
                if (value != null) {
                    lines.add(key + " = " + value);
                }
            } else {
                lines.add(line);
            }
        }
        assertTrue(found, key + " is not in config/application.properties");
        Path config = home.resolve("config/application.properties");
        Files.createDirectories(config.getParent());
        return Files.write(config, lines);
    }

    /** Runs drover in a JVM of its own on the test class path; returns its stderr after checking exit 2. */
    private String userError(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-cp", System.getProperty("java.class.path"), DroverCommand.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).directory(home.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(home.resolve("err").toFile());
        builder.environment().put("DROVER_HOME", home.toString());
        builder.environment().keySet().removeIf(name -> name.startsWith("DROVER_") && !name.equals("DROVER_HOME"));
        Process process = builder.start();
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "drover " + String.join(" ", args) + " did not finish");
        String err = Files.readString(home.resolve("err"), StandardCharsets.UTF_8).strip();
        assertEquals(2, process.exitValue(), err);
        assertFalse(err.contains("\tat ") || err.contains("Exception"), err);
        assertEquals(1, err.lines().count(), err);
        return err;
    }
}
