package dev.drover.run;

import dev.drover.manifest.TaskSpec;

import java.util.List;

/** The unit of work a lane receives: some tasks of one run, in manifest order. */
public record TaskBatch(String runId, List<TaskSpec> tasks) {
}
