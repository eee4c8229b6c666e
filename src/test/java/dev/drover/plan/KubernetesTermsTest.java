package dev.drover.plan;

import dev.drover.manifest.JobResources;
import dev.drover.manifest.ManifestException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SLURM units and lists of --job-resources in Kubernetes terms, and their refusals, at planning. */
class KubernetesTermsTest {

    private static String error(Runnable r) {
        return assertThrows(ManifestException.class, r::run).getMessage();
    }

    @Test
    void slurmUnitsBecomeKubernetesQuantities() {
        assertEquals("32Gi", KubernetesTerms.memory("32G"));
        assertEquals("500Mi", KubernetesTerms.memory("500"), "a plain number is MiB, as in SLURM");
        assertEquals("100Ki", KubernetesTerms.memory("100K"));
        assertEquals("2Ti", KubernetesTerms.memory("2tb"));
        assertTrue(error(() -> KubernetesTerms.memory("0")).contains("no Kubernetes equivalent"));
        KubernetesTerms t = KubernetesTerms.from(JobResources.parse("mem=32G,cpus-per-task=4,gres=gpu:2"));
        assertEquals(Map.of("memory", "32Gi", "cpu", "4"), t.requests());
        assertEquals(Map.of("memory", "32Gi", KubernetesTerms.GPU, "2"), t.limits());
    }

    @Test
    void slurmTimeFormsBecomeSeconds() {
        assertEquals(600L, KubernetesTerms.seconds("10"));
        assertEquals(90L, KubernetesTerms.seconds("1:30"));
        assertEquals(3600L, KubernetesTerms.seconds("01:00:00"));
        assertEquals(86_400L, KubernetesTerms.seconds("1-0"));
        assertEquals(86_400L + 7200 + 180, KubernetesTerms.seconds("1-2:3"));
        assertNull(KubernetesTerms.seconds("UNLIMITED"));
    }

    @Test
    void gpusOnlyAsACount() {
        assertEquals(1, KubernetesTerms.gpus("gpu"));
        assertEquals(3, KubernetesTerms.gpus("gpu:3"));
        assertTrue(error(() -> KubernetesTerms.gpus("gpu:a100:1")).contains("constraint=LABEL=VALUE"));
        assertTrue(error(() -> KubernetesTerms.gpus("mps:100")).contains("only GPUs"));
    }

    @Test
    void hostListsExpandAndConstraintsAreLabels() {
        assertEquals(List.of("node01", "node02", "node03", "node7", "gpu1"),
                KubernetesTerms.hosts("node[01-03],node7,gpu1", "nodelist"));
        assertTrue(error(() -> KubernetesTerms.hosts("Node1", "nodelist")).contains("is not a Kubernetes node name"));
        assertEquals(Map.of("disktype", "ssd", "gpu", "true"), KubernetesTerms.selector("disktype=ssd&gpu"));
        assertTrue(error(() -> KubernetesTerms.selector("intel|amd")).contains("can only AND labels"));
    }
}
