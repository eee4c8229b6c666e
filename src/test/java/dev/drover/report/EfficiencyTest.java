package dev.drover.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Efficiency figures and right-sizing advice from known usage figures. */
class EfficiencyTest {

    private static final long MIB = 1L << 20;
    private static final long T0 = 1_800_000_000_000L;

    @TempDir
    Path runs;

    private Efficiency of(SyntheticRun run) throws Exception {
        return Efficiency.of(RunFacts.read(run.write(runs, "r")));
    }

    @Test
    void aRunThatAskedForFarMoreMemoryThanItUsedIsToldHowMuchToAskFor() throws Exception {
        SyntheticRun run = new SyntheticRun().resource("mem", "1G");
        for (int i = 0; i <= 40; i++) {
            run.measured(T0 + i * 1000, 2, 1.9, (80 + i) * MIB); // 80M .. 120M
        }
        Efficiency e = of(run);
        assertEquals("mem=1G is 8.5x more than the largest task used (120M); try mem=150M", e.summary());
        assertEquals("150M", e.suggestedMem());
        assertEquals(100.0 * MIB / 1024 / MIB, e.memEfficiency(), 1e-9); // mean 100M of 1024M
        assertEquals(120.0 * MIB, e.peakRss().max());
        assertEquals(100.0 * MIB, e.peakRss().p50());
    }

    /**
     * Memory efficiency is against what each task had: its last attempt's granted mem (history's resources, where a
     * cluster said: a partition's cap, an escalated retry), else the run's request.
     */
    @Test
    void memoryEfficiencyIsAgainstTheMemoryEachTaskWasGranted() throws Exception {
        Path dir = Files.createDirectories(runs.resolve("granted"));
        Files.writeString(dir.resolve("plan.json"), "{\"strategy\":\"slurm\",\"jobResources\":{\"mem\":\"1G\"},"
                + "\"tasks\":3}");
        String usage = ",\"usage\":{\"wallSeconds\":1,\"cpuSeconds\":1,\"maxRssBytes\":" + 100 * MIB + "}";
        String times = ",\"startedAt\":\"2027-01-15T08:00:00Z\",\"finishedAt\":\"2027-01-15T08:00:01Z\"";
        Files.writeString(dir.resolve("report.json"), "{\"runId\":\"granted\",\"state\":\"SUCCEEDED\",\"tasks\":["
                + "{\"id\":\"capped\",\"state\":\"SUCCEEDED\"" + times + usage + ",\"history\":[{\"attempt\":1,"
                + "\"resources\":{\"mem\":\"200M\",\"time\":\"00:05:00\"}}]},"
                + "{\"id\":\"escalated\",\"state\":\"SUCCEEDED\"" + times + usage + ",\"history\":[{\"attempt\":1,"
                + "\"resources\":{\"mem\":\"50M\"}},{\"attempt\":2,\"resources\":{\"mem\":\"400M\"}}]},"
                + "{\"id\":\"asked\",\"state\":\"SUCCEEDED\"" + times + usage + ",\"history\":[]}]}");
        Efficiency e = Efficiency.of(RunFacts.read(dir));
        // 100M of 200M, of 400M (the last attempt's), of the run's 1G
        assertEquals((0.5 + 0.25 + 100.0 / 1024) / 3, e.memEfficiency(), 1e-9);
    }

    @Test
    void memoryUsedCloseToTheLimitIsWarnedAboutAndAFittingRequestIsNotCriticised() throws Exception {
        Efficiency close = of(new SyntheticRun().resource("mem", "100").measured(T0, 1, 1, 98 * MIB));
        assertEquals("the largest task used 98M, 98% of mem=100; try mem=120M", close.summary());
        Files.walk(runs).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        Efficiency fits = of(new SyntheticRun().resource("mem", "100M").measured(T0, 1, 1, 70 * MIB));
        assertNull(fits.summary(), "70% of the request is a good fit");
    }

    @Test
    void cpuEfficiencyIsCpuTimeOverWallTimeTimesTheCpusAsked() throws Exception {
        SyntheticRun run = new SyntheticRun().resource("cpus_per_task", "4");
        run.measured(T0, 10, 10, MIB).measured(T0, 30, 10, MIB); // 20 CPU-s over 40 s × 4 CPUs
        Efficiency e = of(run);
        assertEquals(0.125, e.cpuEfficiency(), 1e-9);
        assertTrue(e.summary().contains("tasks kept 0.5 of cpus_per_task=4 CPUs busy (13%); try cpus_per_task=1"),
                e.summary());
    }

    @Test
    void timeLimitsFarAboveOrCloseToTheLongestTaskAreCalledOut() throws Exception {
        Efficiency generous = of(new SyntheticRun().resource("time", "1:00:00").measured(T0, 35.9, 1, MIB));
        assertTrue(generous.summary().endsWith("; time=1:00:00 is 100x the longest task (35.9s); try time=00:01:00"),
                generous.summary()); // after the memory figure: no mem was asked for, so the largest task's use
        Files.walk(runs).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        Efficiency tight = of(new SyntheticRun().resource("time", "10").measured(T0, 580, 1, MIB));
        assertTrue(tight.summary().endsWith("; the longest task took 9m40s, 97% of time=10; try time=00:15:00"),
                tight.summary());
    }

    @Test
    void percentilesAreValuesSomeTaskHad() throws Exception {
        SyntheticRun run = new SyntheticRun();
        for (int i = 1; i <= 100; i++) {
            run.measured(T0, i, i, i * MIB);
        }
        Efficiency e = of(run);
        assertEquals(50, e.wall().p50());
        assertEquals(95, e.wall().p95());
        assertEquals(99, e.wall().p99());
        assertEquals(100, e.wall().max());
        assertEquals(1.0, e.cpuEfficiency(), 1e-9);
    }

    @Test
    void withoutUsageFiguresDurationsComeFromTheTimestampsAndNoMemoryIsSuggested() throws Exception {
        SyntheticRun run = new SyntheticRun().resource("mem", "1G");
        run.task(new SyntheticRun.Task("a", "SUCCEEDED", 0, T0, T0 + 4000, Double.NaN, 0, 0, null));
        run.task(new SyntheticRun.Task("b", "FAILED", 1, T0, T0 + 2000, Double.NaN, 0, 0, null));
        run.task(new SyntheticRun.Task("c", "CANCELLED", 0, T0, T0 + 9000, Double.NaN, 0, 0, "cancelled"));
        Efficiency e = of(run);
        assertEquals(0, e.measured());
        assertEquals(2, e.ended(), "cancelled tasks say nothing about what a task needs");
        assertEquals(4.0, e.wall().max());
        assertNull(e.suggestedMem());
        assertTrue(Double.isNaN(e.cpuEfficiency()));
        assertNull(e.summary());
    }

    @Test
    void theLastAttemptsUsageInHistoryCountsWhenATaskHasNoUsageOfItsOwn() throws Exception {
        Path dir = Files.createDirectories(runs.resolve("h"));
        // compact, fields in another order, unknown fields: read by name, not by layout
        Files.writeString(dir.resolve("report.json"), "{\"future\":{\"x\":[1,{\"y\":2}]},\"counts\":{\"succeeded\":1},"
                + "\"tasks\":[{\"history\":[{\"attempt\":1,\"usage\":{\"wallSeconds\":9,\"cpuSeconds\":1,"
                + "\"maxRssBytes\":1}},{\"attempt\":2,\"usage\":{\"wallSeconds\":3,\"cpuSeconds\":3,"
                + "\"maxRssBytes\":5242880}}],\"state\":\"SUCCEEDED\",\"id\":\"t\",\"startedAt\":null}],"
                + "\"state\":\"SUCCEEDED\",\"runId\":\"h\"}");
        RunFacts facts = RunFacts.read(dir);
        Efficiency e = Efficiency.of(facts);
        assertEquals(1, facts.taskCount());
        assertEquals(3.0, e.wall().max());
        assertEquals(5.0 * MIB, e.peakRss().max());
        assertEquals("SUCCEEDED", facts.runState);
    }

    @Test
    void suggestionsAreInSlurmUnitsAndRoundUp() {
        assertEquals("1M", Efficiency.slurmMem(1000));
        assertEquals("5M", Efficiency.slurmMem(5 * MIB));
        assertEquals("180M", Efficiency.slurmMem(173 * MIB));
        assertEquals("1000M", Efficiency.slurmMem(1000 * MIB));
        assertEquals("2G", Efficiency.slurmMem(1843 * MIB));
        assertEquals("00:01:00", Efficiency.slurmTime(0.2));
        assertEquals("00:02:00", Efficiency.slurmTime(61));
        assertEquals("1-01:00:00", Efficiency.slurmTime(25 * 3600));
    }

    @Test
    void requestedResourcesAreReadAsSlurmReadsThem() {
        assertEquals(500 * MIB, Efficiency.memBytes("500"));
        assertEquals(32L << 30, Efficiency.memBytes("32G"));
        assertEquals(64L << 10, Efficiency.memBytes("64k"));
        assertNull(Efficiency.memBytes("0"), "mem=0 is a whole node: nothing to compare with");
        assertNull(Efficiency.memBytes("lots"));
        assertEquals(300L, Efficiency.seconds("5"));
        assertEquals(330L, Efficiency.seconds("5:30"));
        assertEquals(3723L, Efficiency.seconds("1:02:03"));
        assertEquals(93600L, Efficiency.seconds("1-2"));
        assertEquals(93784L, Efficiency.seconds("1-2:03:04"));
        assertNull(Efficiency.seconds("UNLIMITED"));
        assertFalse(Efficiency.bytes(1536).isEmpty());
        assertEquals("1.5K", Efficiency.bytes(1536));
    }

    @Test
    void timestampsAreReadExactlyInEveryFormAnInstantTakes() {
        for (String stamp : new String[]{"2026-11-25T12:00:00.123Z", "2026-11-25T12:00:00Z", "1999-12-31T23:59:59.9Z",
                "2026-02-28T00:00:00.123456789Z", "2024-02-29T10:11:12.05Z", "+12026-01-01T00:00:00Z"}) {
            assertEquals(java.time.Instant.parse(stamp).toEpochMilli(), RunFacts.millis(stamp), stamp);
        }
        assertEquals(0, RunFacts.millis(null));
    }
}
