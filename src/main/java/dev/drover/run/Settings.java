package dev.drover.run;

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
 * drover.* settings, read one way by every command and every lane. Their defaults live in one place, the
 * installation's config/application.properties; no Java code repeats them. A pipeline reads Camel's resolved
 * properties ({@link #of(CamelContext)}: the file, command-line overrides, environment variables); a command that
 * starts no pipeline (submit, status, cancel, completion, a dry run) reads the file under environment variables named
 * like Camel's (drover.queue.url → DROVER_QUEUE_URL) ({@link #load}), so it sees the values `drover serve` sees.
 * A key without a value, or with one of the wrong kind, is a {@link ManifestException}: one line naming the key and
 * the file, which the commands print as is (exit 2).
 */
public final class Settings {

    public static final String FILE = "config/application.properties";

    private final Function<String, String> source;
    private final String file;

    private Settings(Function<String, String> source, String file) {
        this.source = source;
        this.file = file;
    }

    /** The settings of a running pipeline. */
    public static Settings of(CamelContext context) {
        return new Settings(key -> context.getPropertiesComponent().resolveProperty(key).orElse(null), FILE);
    }

    /** Settings from given properties (tests), named after the file they stand for. */
    public static Settings of(Properties properties, String file) {
        return new Settings(properties::getProperty, file);
    }

    /** The settings of an installation, for a command that starts no pipeline. */
    public static Settings load(Path home) {
        Properties properties = new Properties();
        Path config = home.resolve(FILE);
        if (Files.isRegularFile(config)) {
            try (Reader reader = Files.newBufferedReader(config, StandardCharsets.UTF_8)) {
                properties.load(reader);
            } catch (IOException e) {
                // unreadable: every key is reported missing by text, naming the file
            }
        }
        return new Settings(key -> {
            String env = System.getenv(key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_'));
            return env != null ? env : properties.getProperty(key);
        }, config.toString());
    }

    /** The value of a key, trimmed; a key without a value is an error that names it and the file it belongs in. */
    public String text(String key) {
        String value = optional(key);
        if (value == null) {
            throw new ManifestException(key, "is not set: give it a value in " + file + " (drover's own copy of"
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
        long value = whole(key);
        if (value != (int) value) {
            throw malformed(key, "is too large");
        }
        return (int) value;
    }

    public long whole(String key) {
        try {
            return Long.parseLong(text(key));
        } catch (NumberFormatException e) {
            throw malformed(key, "is not a whole number");
        }
    }

    public boolean flag(String key) {
        String value = text(key);
        if (!value.equalsIgnoreCase("true") && !value.equalsIgnoreCase("false")) {
            throw malformed(key, "is not true or false");
        }
        return Boolean.parseBoolean(value);
    }

    /** A duration given in (possibly fractional) seconds. */
    public Duration seconds(String key) {
        try {
            return Duration.ofMillis(Math.round(1000 * Double.parseDouble(text(key))));
        } catch (NumberFormatException e) {
            throw malformed(key, "is not a number of seconds");
        }
    }

    /** A duration given in whole milliseconds. */
    public Duration millis(String key) {
        try {
            return Duration.ofMillis(Long.parseLong(text(key)));
        } catch (NumberFormatException e) {
            throw malformed(key, "is not a whole number of milliseconds");
        }
    }

    /** Where run directories go (drover.runs-dir), absolute. */
    public Path runsDir() {
        return Path.of(text("drover.runs-dir")).toAbsolutePath();
    }

    /** The largest manifest any intake reads (drover.manifest.max-bytes), checked. */
    public long manifestMaxBytes() {
        return ManifestParser.maxBytes(text(ManifestParser.MAX_BYTES_KEY));
    }

    private ManifestException malformed(String key, String problem) {
        return new ManifestException(key, "'" + text(key) + "' in " + file + " " + problem);
    }
}
