package dev.drover.slurm;

import dev.drover.manifest.TaskSpec;

import java.nio.file.Path;
import java.util.List;

/**
 * One job array of a run: element {@code e} (array index e, 0-based, never above MaxArraySize-1) runs the tasks of
 * {@code elements.get(e)} one after another. For slurm each element holds one task; for slurm+batching one batch.
 *
 * @param key      the array's name within the run (a0001, a0002, ...): its folder under slurm/ in the run directory
 * @param attempt  the attempt number of every task in it (a retry is a new array)
 * @param throttle at most this many elements running at once (%N), 0 for no limit
 */
public record ArrayJob(String runId, String key, Path dir, List<List<TaskSpec>> elements, int attempt, int throttle) {

    public int taskCount() {
        return elements.stream().mapToInt(List::size).sum();
    }

    /** The value of sbatch's --array: 0..k-1, throttled with %N when N is below k. */
    public String arraySpec() {
        String spec = "0-" + (elements.size() - 1);
        return throttle > 0 && throttle < elements.size() ? spec + "%" + throttle : spec;
    }

    public Path script() {
        return dir.resolve("job.sbatch");
    }

    /** The file the wrapper writes the exit codes of an element's tasks to. */
    public Path exitRecord(int element) {
        return ExitRecords.file(dir, element);
    }
}
