package dev.drover.serve;

import dev.drover.manifest.ManifestException;
import dev.drover.manifest.ManifestParser;
import org.apache.camel.CamelContext;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Properties;
import java.util.function.Function;

/**
 * drover.* settings, read one way by every command. Their defaults live in one place, the installation's
 * config/application.properties; no Java code repeats them. A pipeline reads Camel's resolved properties
 * ({@link #of}: the file, command-line overrides, environment variables); the commands that start no pipeline
 * (submit, status, cancel, completion) read the file under environment variables named like Camel's
 * (drover.queue.url → DROVER_QUEUE_URL) ({@link #load}), so they see the values `drover serve` sees.
 */
public final class Settings {

    static final String FILE = "config/application.properties";

    private final Function<String, String> source;

    private Settings(Function<String, String> source) {
        this.source = source;
    }

    /** The settings of a running pipeline. */
    public static Settings of(CamelContext context) {
        return new Settings(key -> context.getPropertiesComponent().resolveProperty(key).orElse(null));
    }

    /** The settings of an installation, for a command that starts no pipeline. */
    public static Settings load(Path home) {
        Properties file = new Properties();
        Path config = home.resolve(FILE);
        if (Files.isRegularFile(config)) {
            try (Reader reader = Files.newBufferedReader(config, StandardCharsets.UTF_8)) {
                file.load(reader);
            } catch (IOException e) {
                // unreadable: every key is reported missing by get, naming the file
            }
        }
        return new Settings(key -> {
            String env = System.getenv(key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_'));
            return env != null ? env : file.getProperty(key);
        });
    }

    /** The value of a key, trimmed; a key without a value is an error that names it and where it belongs. */
    public String get(String key) {
        String value = optional(key);
        if (value == null) {
            throw new ManifestException(key, "is not set: give it a value in " + FILE + " (drover's own copy of"
                    + " that file has every key, with its default)");
        }
        return value;
    }

    /** The value of a key that may be left empty (a broker URL, a login), or null. */
    public String optional(String key) {
        String value = source.apply(key);
        return value == null || value.isBlank() ? null : value.trim();
    }

    public int integer(String key) {
        return (int) whole(key);
    }

    public long whole(String key) {
        try {
            return Long.parseLong(get(key));
        } catch (NumberFormatException e) {
            throw new ManifestException(key, "'" + get(key) + "' is not a whole number");
        }
    }

    public boolean flag(String key) {
        return Boolean.parseBoolean(get(key));
    }

    /** A duration given in (possibly fractional) seconds. */
    public Duration seconds(String key) {
        try {
            return Duration.ofMillis(Math.round(1000 * Double.parseDouble(get(key))));
        } catch (NumberFormatException e) {
            throw new ManifestException(key, "'" + get(key) + "' is not a number of seconds");
        }
    }

    /** Where run directories go (drover.runs-dir), absolute. */
    public Path runsDir() {
        return Path.of(get("drover.runs-dir")).toAbsolutePath();
    }

    /** The largest manifest any intake reads (drover.manifest.max-bytes), checked. */
    public long manifestMaxBytes() {
        return ManifestParser.maxBytes(get(ManifestParser.MAX_BYTES_KEY));
    }
}
