package dev.drover.run;

/** A consistent copy of one task's state, for the report ({@link Run#record}). */
record TaskRecord(TaskState state, int exitCode, int attempts, long startedAt, long finishedAt, String reason,
                  String backendId, String backendState) {
}
