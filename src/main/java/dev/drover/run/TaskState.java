package dev.drover.run;

/** Where a task is in its life; the names appear in the journal and in report.json. */
public enum TaskState {
    PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED;

    private static final TaskState[] VALUES = values();

    public boolean isTerminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }

    static TaskState ofOrdinal(int ordinal) {
        return VALUES[ordinal];
    }
}
