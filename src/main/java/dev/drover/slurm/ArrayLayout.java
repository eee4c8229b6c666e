package dev.drover.slurm;

import dev.drover.manifest.TaskSpec;
import dev.drover.manifest.JobResources;
import dev.drover.plan.RunPlan;
import dev.drover.plan.Strategy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How a run's tasks become job arrays, for the real run ({@link SlurmBackend}) and the dry run alike: what an element
 * holds (one task for slurm, one batch for slurm+batching), arrays of at most MaxArraySize elements, each array's
 * key (a0001, ...), its folder under slurm/ in the run directory, its throttle (%N) and its script.
 */
public final class ArrayLayout {

    private ArrayLayout() {
    }

    /** Tasks per array element: the batch size for slurm+batching, else 1. */
    public static int tasksPerElement(RunPlan plan) {
        return plan.strategy() == Strategy.SLURM_BATCHING ? plan.batchSize() : 1;
    }

    /** The elements some tasks make, in order. */
    public static List<List<TaskSpec>> elements(RunPlan plan, List<TaskSpec> tasks) {
        int per = tasksPerElement(plan);
        List<List<TaskSpec>> elements = new ArrayList<>();
        for (int from = 0; from < tasks.size(); from += per) {
            elements.add(List.copyOf(tasks.subList(from, Math.min(tasks.size(), from + per))));
        }
        return elements;
    }

    /**
     * The elements of all of a plan's tasks (a dry run's), each built when asked for: a million-task generator is
     * never held in memory at once, only the array being written.
     */
    public static List<List<TaskSpec>> elements(RunPlan plan) {
        int per = tasksPerElement(plan);
        int tasks = plan.taskCount();
        return new AbstractList<>() {
            @Override
            public List<TaskSpec> get(int element) {
                int from = element * per;
                List<TaskSpec> specs = new ArrayList<>(Math.min(per, tasks - from));
                for (int i = from; i < Math.min(tasks, from + per); i++) {
                    specs.add(plan.manifest().tasks().task(i));
                }
                return specs;
            }

            @Override
            public int size() {
                return (tasks + per - 1) / per;
            }
        };
    }

    /** Elements cut into arrays of at most {@code maxArraySize}. */
    public static <T> List<List<T>> arrays(List<T> elements, int maxArraySize) {
        List<List<T>> arrays = new ArrayList<>();
        for (int from = 0; from < elements.size(); from += maxArraySize) {
            arrays.add(elements.subList(from, Math.min(elements.size(), from + maxArraySize)));
        }
        return arrays;
    }

    /** The key of a run's n-th array (1-based). */
    public static String key(int n) {
        return String.format(Locale.ROOT, "a%04d", n);
    }

    /** The number of an array key (a0007 is 7); 0 for keys of another shape. */
    public static int number(String key) {
        try {
            return key.startsWith("a") ? Integer.parseInt(key.substring(1)) : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** The folder of one array of a run: its script, its elements' exit records, SLURM's output. */
    public static Path dir(Path runDir, String key) {
        return runDir.resolve("slurm").resolve(key);
    }

    /** %N of an array: --jobs for slurm; none for slurm+batching, whose --jobs is the number of batches. */
    public static int throttle(RunPlan plan) {
        return plan.strategy() == Strategy.SLURM ? plan.jobs() : 0;
    }

    /** The array {@code key} of a run, holding {@code elements} at {@code attempt}. */
    public static ArrayJob array(String runId, Path runDir, RunPlan plan, String key, List<List<TaskSpec>> elements,
                                 int attempt) {
        return new ArrayJob(runId, key, dir(runDir, key), List.copyOf(elements), attempt, throttle(plan));
    }

    /** Writes the array's folder, script and task table (the working directory of relative task workdirs: drover's own). */
    public static void writeScript(ArrayJob job, Path runDir, RunPlan plan, JobResources resources,
                                   SlurmSettings settings) throws IOException {
        String launcher = settings.launcherPath(); // a wrong setting is said before anything is written
        Files.createDirectories(job.dir());
        SbatchScript.write(job, runDir, plan.manifest().name(), resources, Path.of("").toAbsolutePath(),
                plan.manifest().timeout(), plan.manifest().tasks(), launcher);
    }
}
