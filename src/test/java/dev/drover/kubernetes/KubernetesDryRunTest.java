package dev.drover.kubernetes;

import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.Serialization;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KubernetesDryRunTest {

    @TempDir
    Path runDir;

    @Test
    void writesOneFilePerIndexedJobWithItsConfigMapAndCreatesNothing() throws Exception {
        RunPlan plan = RunPlan.resolve(ManifestReader.parse("""
                name: dry
                strategy: kubernetes
                image: busybox:1.36
                command: [echo, '{item}']
                range: {start: 0, end: 5}
                """), new RunOptions(null, 2, "batch-size=2,mem=256M,time=10,namespace=batch"));
        List<Path> files = KubernetesDryRun.write(plan, "dry-20261125-120000-0001", runDir, 3600, 1000);

        assertEquals(3, files.size(), "5 tasks, 2 per Job");
        int index = 0;
        for (Path file : files) {
            assertEquals(runDir.resolve(KubernetesDryRun.FOLDER), file.getParent());
            String yaml = Files.readString(file);
            List<HasMetadata> docs = documents(yaml);
            assertEquals(2, docs.size(), yaml);
            ConfigMap table = assertInstanceOf(ConfigMap.class, docs.get(0));
            Job job = assertInstanceOf(Job.class, docs.get(1));
            StrictModel.assertNoUnknownFields(table);
            StrictModel.assertNoUnknownFields(job);
            assertEquals(file.getFileName().toString(), job.getMetadata().getName() + ".yaml");
            assertEquals("batch", job.getMetadata().getNamespace());
            assertEquals(job.getMetadata().getName(), table.getMetadata().getName());
            assertNull(job.getSpec().getSuspend(), "applicable as it is: not suspended");
            assertNull(job.getSpec().getActiveDeadlineSeconds(), "time limits each task, not the Job");
            assertEquals(600L, job.getSpec().getTemplate().getSpec().getActiveDeadlineSeconds(), "time=10");
            // what each pod would run, from the file as written: its task's argv
            Path mounted = Files.createDirectories(runDir.resolve("mnt-" + job.getMetadata().getName()));
            table.getData().forEach((key, value) -> write(mounted.resolve(key), value));
            for (int i = 0; i < job.getSpec().getCompletions(); i++, index++) {
                ProcessBuilder pod = new ProcessBuilder("sh", mounted.resolve(PodTasks.SCRIPT).toString());
                pod.environment().put("JOB_COMPLETION_INDEX", Integer.toString(i));
                Process p = pod.redirectErrorStream(true).start();
                assertEquals(index + "\n", new String(p.getInputStream().readAllBytes()), "pod " + i);
                assertEquals(0, p.waitFor());
            }
        }
        assertEquals(5, index);
        assertFalse(Files.exists(runDir.resolve("report.json")));
    }

    @Test
    void shortFormUsesTheRunDirectoryNameAndTheDefaults() {
        RunPlan plan = RunPlan.resolve(ManifestReader.parse("""
                name: dry
                image: busybox:1.36
                tasks: [{command: ['true']}]
                """), new RunOptions("kubernetes", null, null));
        Path dir = runDir.resolve("dry-20261125-120000-0002");
        List<Path> files = KubernetesDryRun.write(plan, dir, new KubeSettings(null, null, null, 3600, 1000, 2000, 4,
                500, 120));
        Job job = (Job) documents(read(files.get(0))).get(1);
        assertEquals("dry-20261125-120000-0002", job.getMetadata().getLabels().get(IndexedJobBuilder.LABEL_RUN));
        assertEquals(3600, job.getSpec().getTtlSecondsAfterFinished());
        assertNull(job.getMetadata().getNamespace(), "kubectl's current namespace applies");
    }

    @Test
    void aGeneratorsJobsKeepTheirShapeAcrossJobBoundaries() throws Exception {
        RunPlan plan = RunPlan.resolve(ManifestReader.parse("""
                name: Scan_2026
                image: registry.example.com:5000/tools/convert:1.4
                env: {MODE: "fast 2"}
                command: [sh, -c, 'echo "$0 $1"', '{item}', '{index}']
                range: {start: 10, step: 5, end: 12510}
                """), new RunOptions("kubernetes", 3, "mem=256M,time=10,namespace=batch-7"));
        List<Path> files = KubernetesDryRun.write(plan, "scan-2026-0001", runDir, 600, 1000);

        assertEquals(3, files.size(), "2,500 tasks, 1000 per Job");
        int[][] shapes = {{0, 999}, {1000, 1999}, {2000, 2499}};
        for (int f = 0; f < files.size(); f++) {
            int first = shapes[f][0];
            int last = shapes[f][1];
            String text = Files.readString(files.get(f));
            List<HasMetadata> docs = documents(text);
            ConfigMap table = (ConfigMap) docs.get(0);
            Job job = (Job) docs.get(1);
            String name = job.getMetadata().getName();
            assertTrue(text.startsWith("# drover --dry-run: Indexed Job " + name + " runs manifest tasks " + first
                    + ".." + last + " "), text.lines().findFirst().orElseThrow());
            assertEquals(first + "-" + last, job.getMetadata().getAnnotations().get(IndexedJobBuilder.ANNOTATION_TASKS));
            assertEquals(last - first + 1, job.getSpec().getCompletions());
            assertEquals(3, job.getSpec().getParallelism(), "--jobs 3");
            assertEquals(name, table.getMetadata().getName());
            assertEquals(name, job.getSpec().getTemplate().getSpec().getVolumes().get(0).getConfigMap().getName());
            assertEquals(16, job.getMetadata().getAnnotations().get(IndexedJobBuilder.ANNOTATION_TOKEN).length());
            // each document is exactly what fabric8 writes for the object it reads back as
            String[] parts = text.split("(?m)^(?=---$)");
            assertEquals(Serialization.asYaml(table), parts[1]);
            assertEquals(Serialization.asYaml(job), parts[2]);
            // the pods at the Job's ends run their own tasks
            Path mounted = Files.createDirectories(runDir.resolve("mnt-" + name));
            table.getData().forEach((key, value) -> write(mounted.resolve(key), value));
            for (int i : new int[] {0, last - first}) {
                ProcessBuilder pod = new ProcessBuilder("sh", mounted.resolve(PodTasks.SCRIPT).toString());
                pod.environment().put("JOB_COMPLETION_INDEX", Integer.toString(i));
                Process p = pod.redirectErrorStream(true).start();
                int index = first + i;
                assertEquals((10 + 5 * index) + " " + index + "\n", new String(p.getInputStream().readAllBytes()),
                        name + " pod " + i);
                assertEquals(0, p.waitFor());
            }
        }
        assertEquals(3, files.stream().map(Path::getFileName).distinct().count(), "each Job its own name");
    }

    /** The YAML documents of a file, each read by its kind into the fabric8 model. */
    static List<HasMetadata> documents(String yaml) {
        List<HasMetadata> docs = new java.util.ArrayList<>();
        for (String doc : yaml.split("(?m)^---$")) {
            if (doc.lines().anyMatch(l -> !l.isBlank() && !l.startsWith("#"))) {
                docs.add(Serialization.unmarshal(doc));
            }
        }
        return docs;
    }

    private static void write(Path p, String text) {
        try {
            Files.writeString(p, text);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
