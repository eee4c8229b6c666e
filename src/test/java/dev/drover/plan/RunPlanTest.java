package dev.drover.plan;

import dev.drover.manifest.JobResources;
import dev.drover.manifest.Manifest;
import dev.drover.manifest.ManifestException;
import dev.drover.manifest.ManifestReader;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RunPlanTest {

    private static final Manifest SEVEN = ManifestReader.parse("name: seven\ncommand: [\"true\"]\nrange: {end: 7}\n");

    private static RunPlan plan(String strategy, Integer jobs, String resources) {
        return RunPlan.resolve(SEVEN, new RunOptions(strategy, jobs, resources));
    }

    private static ManifestException refused(String strategy, Integer jobs, String resources) {
        return assertThrows(ManifestException.class, () -> plan(strategy, jobs, resources));
    }

    @Test
    void multiprocessingIsTheDefaultWithOneJobPerCpu() {
        RunPlan p = plan(null, null, null);
        assertEquals(Strategy.MULTIPROCESSING, p.strategy());
        assertEquals(Runtime.getRuntime().availableProcessors(), p.jobs());
        assertEquals(1, p.batchSize());
    }

    @Test
    void commandLineOverridesTheManifest() {
        Manifest m = ManifestReader.parse("name: m\nstrategy: sequential\njobs: 4\ntasks: [{command: [\"true\"]}]\n");
        assertThrows(ManifestException.class, () -> RunPlan.resolve(m, RunOptions.NONE), "sequential rejects jobs");
        RunPlan p = RunPlan.resolve(m, new RunOptions("multiprocessing", null, null));
        assertEquals(Strategy.MULTIPROCESSING, p.strategy());
        assertEquals(4, p.jobs());
    }

    @Test
    void errorsAboutValuesFromTheManifestNameTheManifestField() {
        Manifest jobs = ManifestReader.parse("name: m\nstrategy: sequential\njobs: 4\ntasks: [{command: [\"true\"]}]\n");
        assertEquals("jobs", assertThrows(ManifestException.class, () -> RunPlan.resolve(jobs, RunOptions.NONE)).field());
        assertEquals("--jobs", assertThrows(ManifestException.class,
                () -> RunPlan.resolve(jobs, new RunOptions(null, 2, null))).field(), "the flag, when it was the flag");
        Manifest resources = ManifestReader.parse("name: m\nstrategy: slurm\njobResources: {mem: lots}\n"
                + "tasks: [{command: [\"true\"]}]\n");
        ManifestException e = assertThrows(ManifestException.class, () -> RunPlan.resolve(resources, RunOptions.NONE));
        assertEquals("jobResources: 'mem=lots' is not valid: expected a size such as 500M, 32G or 1024 (a plain number"
                + " means MB)", e.getMessage());
        Manifest local = ManifestReader.parse("name: m\njobResources: mem=1G\ntasks: [{command: [\"true\"]}]\n");
        assertEquals("jobResources", assertThrows(ManifestException.class,
                () -> RunPlan.resolve(local, RunOptions.NONE)).field());
    }

    @Test
    void localStrategiesRejectJobResources() {
        assertEquals(JobResources.FIELD, refused("multiprocessing", null, "mem=1G").field());
        assertEquals(JobResources.FIELD, refused("sequential", null, "mem=1G").field());
    }

    @Test
    void multiprocessingRefusesMoreProcessesThanALaneCanRun() {
        ManifestException e = refused("multiprocessing", 4000, null);
        assertEquals("--jobs", e.field());
        assertTrue(e.getMessage().contains("at most 500"), e.getMessage());
    }

    @Test
    void sequentialRejectsJobs() {
        ManifestException e = refused("sequential", 2, null);
        assertEquals("--jobs", e.field());
        assertTrue(e.getMessage().contains("one task at a time"));
    }

    @Test
    void slurmStrategiesRequireJobResources() {
        assertTrue(refused("slurm", null, null).getMessage().contains("is required for slurm"));
        assertTrue(refused("slurm+batching", 2, null).getMessage().contains("is required for slurm+batching"));
    }

    @Test
    void batchingWithJobsMakesAtMostThatManyJobs() {
        RunPlan p = plan("slurm+batching", 2, "mem=1G");
        assertEquals(4, p.batchSize()); // 7 tasks in 2 jobs: 4 + 3
        assertEquals(2, p.batchCount());
    }

    @Test
    void batchingWithBatchSizeFixesTasksPerJob() {
        RunPlan p = plan("slurm+batching", null, "batch-size=3,mem=1G");
        assertEquals(3, p.batchSize());
        assertEquals(3, p.batchCount()); // 3 + 3 + 1
    }

    @Test
    void batchingNeedsExactlyOneOfJobsAndBatchSize() {
        assertTrue(refused("slurm+batching", 2, "batch-size=3,mem=1G").getMessage().contains("mutually exclusive"));
        assertTrue(refused("slurm+batching", null, "mem=1G").getMessage().contains("is required for slurm+batching when batch-size is not set"));
    }

    @Test
    void batchSizeOnlyForBatching() {
        assertTrue(refused("slurm", null, "batch-size=3").getMessage().contains("only applies to slurm+batching"));
    }

    @Test
    void unknownStrategyListsTheKnownOnes() {
        ManifestException e = refused("lsf", null, null);
        assertEquals("--distribution-strategy", e.field());
        assertTrue(e.getMessage().contains("multiprocessing"));
    }
}
