package dev.drover.serve;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;

/**
 * drover.* settings for the commands that start no pipeline (submit, status, cancel): the installation's
 * config/application.properties, overridden by environment variables named like Camel's (drover.queue.url →
 * DROVER_QUEUE_URL), so these commands see the values `drover serve` sees.
 */
public final class Settings {

    private final Properties file = new Properties();

    private Settings() {
    }

    public static Settings load(Path home) {
        Settings settings = new Settings();
        Path config = home.resolve("config/application.properties");
        if (Files.isRegularFile(config)) {
            try (Reader reader = Files.newBufferedReader(config, StandardCharsets.UTF_8)) {
                settings.file.load(reader);
            } catch (IOException e) {
                // no configuration: the defaults below apply
            }
        }
        return settings;
    }

    /** The value of a key, or the fallback when it is absent or empty. */
    public String get(String key, String fallback) {
        String env = System.getenv(key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_'));
        String value = env != null ? env : file.getProperty(key);
        return value == null || value.isBlank() ? fallback : value.trim();
    }
}
