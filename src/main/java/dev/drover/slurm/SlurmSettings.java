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
 * @param launcher          drover-launch on the compute nodes: {@code auto} (its path on drover's machine),
 *                          {@code none}, or an absolute path ({@link #launcherPath})
 */
public record SlurmSettings(String squeue, String scontrol, String scancel, String sacct, int maxArraySize,
                            Duration pollInitial, Duration pollMax, Duration squeueMinInterval, Duration exitGrace,
                            Duration submitRetryInitial, Duration submitRetryMax, int transientRetries,
                            Duration commandTimeout, String launcher) {

    public static final String PREFIX = "drover.slurm.";
    public static final String LAUNCHER = PREFIX + "launcher";

    public static SlurmSettings from(Settings p) {
        return new SlurmSettings(p.text(PREFIX + "squeue"), p.text(PREFIX + "scontrol"), p.text(PREFIX + "scancel"),
                p.text(PREFIX + "sacct"), p.integer(PREFIX + "max-array-size"), p.millis(PREFIX + "poll-initial"),
                p.millis(PREFIX + "poll-max"), p.millis(PREFIX + "squeue-min-interval"),
                p.millis(PREFIX + "exit-grace"), p.millis(PREFIX + "submit-retry-initial"),
                p.millis(PREFIX + "submit-retry-max"), p.integer(PREFIX + "transient-retries"),
                p.millis(PREFIX + "command-timeout"), p.text(LAUNCHER).strip());
    }

    /**
     * The drover-launch path the elements' scripts run their tasks under, null for none. {@code auto}: its path on
     * drover's machine (null when drover has none), where a shared install directory usually puts it on the nodes
     * too; another value is taken as the nodes' path, unchecked here (an element without it says so in its SLURM
     * output), and must be absolute: a relative one would be looked for in each task's working directory.
     *
     * @throws dev.drover.manifest.ManifestException naming the setting, when the path is not absolute
     */
    public String launcherPath() {
        return switch (launcher) {
            case "auto" -> FoundLauncher.PATH;
            case "none" -> null;
            default -> {
                if (!launcher.startsWith("/")) {
                    throw new dev.drover.manifest.ManifestException(LAUNCHER, "'" + launcher + "' is not an absolute"
                            + " path: give drover-launch's path on the compute nodes (e.g. /opt/drover/drover-launch),"
                            + " auto or none");
                }
                yield launcher;
            }
        };
    }

    /** drover-launch as found on drover's machine, looked for once. */
    private static final class FoundLauncher {
        static final String PATH = dev.drover.run.DroverLaunch.locate("auto");
    }
}
