package dev.drover.run;

import java.time.Duration;

/**
 * How a task that ran past the manifest's per-attempt {@code timeout} is reported, the same on every strategy:
 * exit code 124 (what coreutils timeout gives, which the SLURM scripts use) and the reason {@code timed out after 90s}.
 */
public final class TimedOut {

    public static final int EXIT_CODE = 124;

    private TimedOut() {
    }

    public static String reason(Duration limit) {
        return "timed out after " + limit.toString().substring(2).toLowerCase();
    }
}
