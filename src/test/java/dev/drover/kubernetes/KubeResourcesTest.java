package dev.drover.kubernetes;

import dev.drover.manifest.ManifestException;
import dev.drover.manifest.ManifestReader;
import dev.drover.manifest.JobResources;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import io.fabric8.kubernetes.api.model.Quantity;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --job-resources on Kubernetes: the objects, refusals, and the kubernetes rules of RunPlan (units: KubernetesTermsTest). */
class KubeResourcesTest {

    private static final String TASKS = "tasks: [{command: ['true']}, {command: ['true']}, {command: ['true']}]\n";

    private static RunPlan plan(String manifest, String strategy, String resources) {
        return RunPlan.resolve(ManifestReader.parse(manifest), new RunOptions(strategy, null, resources));
    }

    private static String error(Runnable r) {
        return assertThrows(ManifestException.class, r::run).getMessage();
    }

    @Test
    void slurmUnitsBecomeKubernetesQuantities() {
        KubeResources r = KubeResources.from(JobResources.parse("mem=32G,cpus-per-task=4,gres=gpu:2,time=1-2:03:04"));
        assertEquals(Map.of("memory", new Quantity("32Gi"), "cpu", new Quantity("4")), r.requests());
        assertEquals(Map.of("memory", new Quantity("32Gi"), KubeResources.GPU, new Quantity("2")), r.limits());
        assertEquals(((26 * 60) + 3) * 60 + 4L, r.activeDeadlineSeconds());
    }

    @Test
    void hostListsBecomeNodeAffinityAndConstraintsANodeSelector() {
        KubeResources r = KubeResources.from(JobResources.parse(
                "{\"nodelist\": \"a1,a2\", \"exclude\": \"b[1-2]\", \"constraint\": \"disktype=ssd&gpu\"}"));
        var terms = r.affinity(java.util.Set.of()).getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution()
                .getNodeSelectorTerms().get(0).getMatchExpressions();
        assertEquals(KubeResources.HOSTNAME, terms.get(0).getKey());
        assertEquals("In", terms.get(0).getOperator());
        assertEquals(List.of("a1", "a2"), terms.get(0).getValues());
        assertEquals("NotIn", terms.get(1).getOperator());
        assertEquals(List.of("b1", "b2"), terms.get(1).getValues());
        assertEquals(Map.of("disktype", "ssd", "gpu", "true"), r.nodeSelector());
    }

    @Test
    void kubernetesNeedsAnImageFromTheManifestOrTheResources() {
        String noImage = "name: k\nstrategy: kubernetes\n" + TASKS;
        assertTrue(error(() -> plan(noImage, null, null)).startsWith("image: the kubernetes strategy needs a container image"));
        assertEquals("busybox:1.36", plan("name: k\nstrategy: kubernetes\nimage: busybox:1.36\n" + TASKS, null, null).image());
        assertEquals("alpine:3", plan("name: k\nimage: busybox:1.36\n" + TASKS, "kubernetes", "image=alpine:3").image(),
                "--job-resources image wins over the manifest's");
        assertTrue(error(() -> plan("name: k\nimage: 'bad image'\n" + TASKS, null, null))
                .startsWith("image: 'bad image' is not a container image reference"));
    }

    @Test
    void keysWithoutMeaningOnKubernetesAreRefusedWithTheReason() {
        String m = "name: k\nimage: busybox\n" + TASKS;
        assertTrue(error(() -> plan(m, "kubernetes", "partition=cpu")).contains("'partition' has no meaning on Kubernetes:"
                + " Kubernetes has no partitions"));
        assertTrue(error(() -> plan(m, "kubernetes", "reservation=r1")).contains("no reservations"));
        assertTrue(error(() -> plan(m, "kubernetes", "nice=10")).contains("PriorityClass"));
        assertTrue(error(() -> plan(m, "kubernetes", "ntasks=2")).contains("one pod with one container"));
        assertTrue(error(() -> plan(m, "kubernetes", "ntasks_per_node=2")).contains("one pod with one container"));
        assertTrue(error(() -> plan(m, "kubernetes", "namespace=Bad_NS")).contains("a Kubernetes namespace"));
    }

    @Test
    void kubernetesKeysAreRefusedOnSlurm() {
        String m = "name: k\n" + TASKS;
        assertTrue(error(() -> plan(m, "slurm", "mem=1G,image=busybox"))
                .contains("'image' only applies to the kubernetes strategy"));
        assertTrue(error(() -> plan(m, "slurm+batching", "batch-size=2,service-account=runner"))
                .contains("'service_account' only applies to the kubernetes strategy"));
        assertTrue(error(() -> plan(m, "slurm", "constraint=disktype=ssd")).contains("SLURM constraints are node feature names"));
        assertEquals(List.of("--mem=1G", "--constraint=intel&ib"),
                plan(m, "slurm", "mem=1G,constraint=intel&ib").resources().sbatchOptions());
    }

    @Test
    void kubernetesBatchesAreIndexedJobs() {
        String m = "name: k\nimage: busybox\n" + TASKS;
        assertEquals(RunPlan.KUBERNETES_TASKS_PER_JOB, plan(m, "kubernetes", null).batchSize());
        RunPlan twoPerJob = plan(m, "kubernetes", "batch-size=2");
        assertEquals(2, twoPerJob.batchSize());
        assertEquals(2, twoPerJob.batchCount());
        assertTrue(twoPerJob.describe().contains("2 Indexed Jobs of up to 2 tasks"), twoPerJob.describe());
        assertTrue(error(() -> plan(m, "slurm", "mem=1G,batch-size=2")).startsWith(
                "--job-resources: batch-size only applies to slurm+batching (tasks per SLURM job) and kubernetes"),
                "refused for the other strategies");
    }
}
