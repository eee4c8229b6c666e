package dev.drover.run;

/** How a run ended; the {@code state} field of report.json. */
public enum RunState {
    RUNNING, SUCCEEDED, FAILED, CANCELLED
}
