package dev.drover.run;

/**
 * A task that has just reached its final state, as told to {@link RunRegistry#onTaskEnded} listeners.
 *
 * @param attempt       the attempts the task had (0 if it never started)
 * @param exitCode      the last attempt's exit code; {@link Integer#MIN_VALUE} when there is none
 * @param reason        why it failed or was cancelled; null when it succeeded
 * @param startedAtMillis when its first attempt started (epoch ms); 0 if it never started
 * @param endedAtMillis when it ended (epoch ms)
 */
public record TaskEnd(Run run, int index, TaskState state, int attempt, int exitCode, String reason,
                      long startedAtMillis, long endedAtMillis) {

    public boolean started() {
        return startedAtMillis > 0;
    }

    public boolean hasExitCode() {
        return exitCode != Integer.MIN_VALUE;
    }

    /** From the first start to the end, in seconds; only meaningful if {@link #started()}. */
    public double durationSeconds() {
        return (endedAtMillis - startedAtMillis) / 1000.0;
    }
}
