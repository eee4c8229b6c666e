package dev.drover.kubernetes;

import dev.drover.manifest.ManifestReader;
import dev.drover.manifest.TaskSource;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import io.fabric8.kubernetes.client.utils.Serialization;
import org.junit.jupiter.api.Test;

import java.io.StringWriter;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A dry run's Job and ConfigMap YAML from templates is, byte for byte, fabric8's serialisation of each. */
class JobYamlTest {

    /**
     * Every Job and ConfigMap of the plan's tasks in chunks of {@code perJob} (cut as a run cuts them); returns the
     * Job count.
     */
    private static int assertSameAsFabric8(RunPlan plan, String runId, String namespace, Integer ttl, int perJob)
            throws Exception {
        IndexedJobBuilder builder = new IndexedJobBuilder(plan, runId, namespace, ttl, false);
        TaskSource tasks = plan.manifest().tasks();
        JobYaml yaml = new JobYaml(builder, new ConsecutiveTasks(tasks, 0, Math.min(perJob, tasks.size())));
        ConfigMapYaml configMapYaml = new ConfigMapYaml();
        int jobs = 0;
        for (int from = 0; from < tasks.size(); from += perJob) {
            for (KubeJob job : builder.jobs(new ConsecutiveTasks(tasks, from, Math.min(perJob, tasks.size() - from)),
                    perJob)) {
                StringWriter out = new StringWriter();
                yaml.write(job, out);
                assertEquals(Serialization.asYaml(job.job()), out.toString(), job.name());
                StringWriter configMap = new StringWriter();
                configMapYaml.write(job.configMap(), configMap);
                assertEquals(Serialization.asYaml(job.configMap()), configMap.toString(), job.name());
                jobs++;
            }
        }
        return jobs;
    }

    @Test
    void aRangeGeneratorsJobsWithTheirOwnSizesAndParallelism() throws Exception {
        RunPlan plan = RunPlan.resolve(ManifestReader.parse("""
                name: Run_1000.of-2026_a_long_name_for_a_label_999
                image: registry.example.com:5000/team/tool-1000:1000-1999
                env: {MODE: "fast 1000", N: "1000"}
                timeout: 90s
                command: [convert, '--in=/data/{item}.tif', '--out=/out/{index}.png']
                range: {start: 1000, end: 3500}
                """), new RunOptions("kubernetes", 1000, "mem=1000M,cpus_per_task=2,time=1000,namespace=ns-1000,"
                + "constraint=disk=ssd1000,service_account=sa-1000"));
        assertEquals(3, assertSameAsFabric8(plan, "run \"1000\" 2026-'x'", "ns-1000", 1000, 1000),
                "parallelism 1000 = completions 1000, then 500 < --jobs");
        assertEquals(2500, assertSameAsFabric8(plan, "r", null, null, 1), "single-task Jobs");
    }

    @Test
    void aRangeGeneratorWhoseScriptIsNotALiteralBlock() throws Exception {
        // a tab makes YAML write the script double-quoted, folded by length; non-ASCII is not looked into: each such
        // ConfigMap is serialised as it is; the others are written from the template
        for (String argument : List.of("a\tb 1000", "line\nbreak 7 ", "caf\u00e9 1000", "x\u2028y", "-9 ")) {
            RunPlan plan = RunPlan.resolve(ManifestReader.parse("""
                    name: odd
                    image: busybox:1.36
                    command: [echo, '{item}', ARG]
                    range: {start: 0, end: 25}
                    """.replace("ARG", "\"" + argument.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                    .replace("\u2028", "\\u2028") + "\"")), new RunOptions("kubernetes", null, null));
            assertEquals(3, assertSameAsFabric8(plan, "odd-1", null, null, 10), argument);
        }
    }

    @Test
    void aListsJobsIncludingThoseCutToFitTheConfigMapLimit() throws Exception {
        StringBuilder manifest = new StringBuilder("name: list\nimage: busybox:1.36\ntasks:\n");
        String longArgument = "x".repeat(5000);
        for (int i = 0; i < 600; i++) {
            manifest.append("  - {id: t").append(i).append(", command: [echo, '").append(longArgument).append(i)
                    .append("']").append(i % 7 == 0 ? ", env: {X: \"a b\"}, workdir: /w" : "").append("}\n");
        }
        RunPlan plan = RunPlan.resolve(ManifestReader.parse(manifest.toString()),
                new RunOptions("kubernetes", null, "batch-size=100000"));
        int jobs = assertSameAsFabric8(plan, "list-1", "default", 3600, 100_000);
        assertTrue(jobs >= 4, "3 MB of table cut into ConfigMaps of at most 900 kB: " + jobs);
    }
}
