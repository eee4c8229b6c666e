package dev.drover.slurm;

import dev.drover.run.Settings;

import java.time.Duration;

/**
 * The {@code drover.slurm.*} settings, bound once; config/application.properties documents each one and holds its
 * default.
 *
 * @param maxArraySize      0: read MaxArraySize from {@code scontrol show config} once; else the cap to use
 * @param pollInitial       the tracker's first and shortest interval between poll cycles
 * @param pollMax           the longest interval the tracker backs off to while nothing changes
 * @param squeueMinInterval the shortest time between two squeue calls of one run
 * @param exitGrace         how long a job may be gone from squeue without its exit record lines before scontrol/sacct is asked
 * @param submitRetryMax    the longest wait between two sbatch attempts after a transient error or a submit limit
 * @param transientRetries  sbatch attempts after a transient error (socket timeout, controller unreachable)
 */
public record SlurmSettings(String squeue, String scontrol, String scancel, String sacct, int maxArraySize,
                            Duration pollInitial, Duration pollMax, Duration squeueMinInterval, Duration exitGrace,
                            Duration submitRetryInitial, Duration submitRetryMax, int transientRetries,
                            Duration commandTimeout) {

    public static final String PREFIX = "drover.slurm.";

    public static SlurmSettings from(Settings p) {
        return new SlurmSettings(p.text(PREFIX + "squeue"), p.text(PREFIX + "scontrol"), p.text(PREFIX + "scancel"),
                p.text(PREFIX + "sacct"), p.integer(PREFIX + "max-array-size"), p.millis(PREFIX + "poll-initial"),
                p.millis(PREFIX + "poll-max"), p.millis(PREFIX + "squeue-min-interval"),
                p.millis(PREFIX + "exit-grace"), p.millis(PREFIX + "submit-retry-initial"),
                p.millis(PREFIX + "submit-retry-max"), p.integer(PREFIX + "transient-retries"),
                p.millis(PREFIX + "command-timeout"));
    }
}
