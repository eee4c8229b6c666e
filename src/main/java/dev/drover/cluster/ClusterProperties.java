package dev.drover.cluster;

import org.apache.camel.CamelContext;

import java.time.Duration;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Function;

/**
 * Where the lanes' settings are read from: Camel's properties for a run or a server, the configuration file alone
 * for a dry run (which starts no Camel). The defaults live in config/application.properties only; a setting it does
 * not define is an error that names the key, never a value made up in Java.
 */
public final class ClusterProperties {

    private final Function<String, Optional<String>> lookup;
    private final String source;

    private ClusterProperties(Function<String, Optional<String>> lookup, String source) {
        this.lookup = lookup;
        this.source = source;
    }

    public static ClusterProperties of(CamelContext context) {
        return new ClusterProperties(key -> context.getPropertiesComponent().resolveProperty(key),
                "config/application.properties");
    }

    public static ClusterProperties of(Properties properties, String source) {
        return new ClusterProperties(key -> Optional.ofNullable(properties.getProperty(key)), source);
    }

    /** The value, trimmed; empty when unset or blank (for settings whose absence means something). */
    public Optional<String> optional(String key) {
        return lookup.apply(key).map(String::trim).filter(value -> !value.isEmpty());
    }

    public String text(String key) {
        return optional(key).orElseThrow(() -> new IllegalStateException(key + " is not set: " + source
                + " defines it (restore the line from drover's own copy)"));
    }

    public int integer(String key) {
        String value = text(key);
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalStateException(key + " = '" + value + "' in " + source + ": expected a whole number");
        }
    }

    /** A duration given in milliseconds. */
    public Duration millis(String key) {
        String value = text(key);
        try {
            return Duration.ofMillis(Long.parseLong(value));
        } catch (NumberFormatException e) {
            throw new IllegalStateException(key + " = '" + value + "' in " + source + ": expected milliseconds");
        }
    }
}
