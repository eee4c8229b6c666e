package dev.drover.kubernetes;

import dev.drover.manifest.JobResources;
import dev.drover.manifest.TaskSource;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.RunPlan;
import dev.drover.plan.Strategy;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --dry-run} for the kubernetes strategy: writes what the run would create, one file per Indexed Job
 * ({@code kubernetes/<job-name>.yaml}: the ConfigMap with the task table, then the Job), and creates nothing.
 *
 * <p>The files can be applied as they are ({@code kubectl apply -f DIR/kubernetes/}): the Job is written
 * unsuspended, and the ConfigMap without an owner. A real run creates the Job suspended, then the ConfigMap owned by
 * the Job (its uid only exists once the Job does), then resumes the Job. The namespace is the one of
 * --job-resources; without it the files have none, so kubectl's current namespace applies.
 */
public final class KubernetesDryRun {

    public static final String FOLDER = "kubernetes";

    private KubernetesDryRun() {
    }

    /**
     * @param runId the id to put in labels and environment (the run directory's name for `drover run --dry-run`)
     * @param dir   the run directory; the files go into its {@value #FOLDER} folder
     * @param ttlSecondsAfterFinished as drover.kubernetes.ttl-seconds-after-finished, or null for none
     * @param tasksPerJob as drover.kubernetes.tasks-per-job (at most; the plan's batch size also applies)
     * @return the files written, in creation order
     */
    public static List<Path> write(RunPlan plan, String runId, Path dir, Integer ttlSecondsAfterFinished,
                                   int tasksPerJob) {
        if (plan.strategy() != Strategy.KUBERNETES) {
            throw new IllegalArgumentException("not a kubernetes plan: " + plan.strategy());
        }
        String namespace = plan.resources().get(JobResources.NAMESPACE_KEY);
        IndexedJobBuilder builder = new IndexedJobBuilder(plan, runId, namespace, ttlSecondsAfterFinished, false);
        int perJob = Math.max(1, Math.min(plan.batchSize(), tasksPerJob));
        Path folder = dir.resolve(FOLDER);
        TaskSource tasks = plan.manifest().tasks();
        List<Path> files = new ArrayList<>();
        try {
            Files.createDirectories(folder);
            JobYaml jobYaml = new JobYaml(builder, new ConsecutiveTasks(tasks, 0, Math.min(perJob, tasks.size())));
            ConfigMapYaml configMapYaml = new ConfigMapYaml();
            for (int from = 0; from < tasks.size(); from += perJob) {
                List<TaskSpec> chunk = new ConsecutiveTasks(tasks, from, Math.min(perJob, tasks.size() - from));
                for (KubeJob job : builder.jobs(chunk, perJob)) {
                    files.add(writeJob(job, folder, configMapYaml, jobYaml));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the dry-run files into " + folder, e);
        }
        return files;
    }

    /** With the lane's settings and the run directory's name as run id. */
    public static List<Path> write(RunPlan plan, Path dir, KubeSettings settings) {
        return write(plan, dir.getFileName().toString(), dir, settings.ttlSeconds(), settings.tasksPerJob());
    }

    private static Path writeJob(KubeJob job, Path folder, ConfigMapYaml configMapYaml, JobYaml jobYaml)
            throws IOException {
        Path file = folder.resolve(job.name() + ".yaml");
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            out.write("# drover --dry-run: Indexed Job " + job.name() + " runs manifest tasks "
                    + job.tasks().get(0).index() + ".." + job.tasks().get(job.size() - 1).index()
                    + " (pod index i runs the Job's i-th task: see task.sh in the ConfigMap)\n");
            configMapYaml.write(job.configMap(), out);
            jobYaml.write(job, out);
        }
        return file;
    }
}
