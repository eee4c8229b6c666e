package dev.drover.slurm;

import org.apache.camel.CamelContext;

import java.time.Duration;

/**
 * The {@code drover.slurm.*} settings (config/application.properties documents each one).
 *
 * @param maxArraySize      0: read MaxArraySize from {@code scontrol show config} once; else the cap to use
 * @param pollInitial       the tracker's first and shortest interval between poll cycles
 * @param pollMax           the longest interval the tracker backs off to while nothing changes
 * @param squeueMinInterval the shortest time between two squeue calls of one run
 * @param exitGrace         how long a job may be gone from squeue without an exit file before scontrol/sacct is asked
 * @param submitRetryMax    the longest wait between two sbatch attempts after a transient error or a submit limit
 * @param transientRetries  sbatch attempts after a transient error (socket timeout, controller unreachable)
 */
public record SlurmSettings(String squeue, String scontrol, String scancel, String sacct, int maxArraySize,
                            Duration pollInitial, Duration pollMax, Duration squeueMinInterval, Duration exitGrace,
                            Duration submitRetryInitial, Duration submitRetryMax, int transientRetries,
                            Duration commandTimeout) {

    public static SlurmSettings defaults() {
        return new SlurmSettings("squeue", "scontrol", "scancel", "sacct", 0, Duration.ofSeconds(1),
                Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ofSeconds(1),
                Duration.ofSeconds(60), 10, Duration.ofSeconds(120));
    }

    public static SlurmSettings from(CamelContext context) {
        SlurmSettings d = defaults();
        return new SlurmSettings(
                text(context, "squeue", d.squeue), text(context, "scontrol", d.scontrol),
                text(context, "scancel", d.scancel), text(context, "sacct", d.sacct),
                Integer.parseInt(text(context, "max-array-size", "0")),
                millis(context, "poll-initial", d.pollInitial), millis(context, "poll-max", d.pollMax),
                millis(context, "squeue-min-interval", d.squeueMinInterval),
                millis(context, "exit-grace", d.exitGrace),
                millis(context, "submit-retry-initial", d.submitRetryInitial),
                millis(context, "submit-retry-max", d.submitRetryMax),
                Integer.parseInt(text(context, "transient-retries", Integer.toString(d.transientRetries))),
                millis(context, "command-timeout", d.commandTimeout));
    }

    private static String text(CamelContext context, String key, String fallback) {
        return context.resolvePropertyPlaceholders("{{drover.slurm." + key + ":" + fallback + "}}").trim();
    }

    private static Duration millis(CamelContext context, String key, Duration fallback) {
        return Duration.ofMillis(Long.parseLong(text(context, key, Long.toString(fallback.toMillis()))));
    }
}
