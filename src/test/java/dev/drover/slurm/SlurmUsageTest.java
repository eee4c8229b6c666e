package dev.drover.slurm;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Reading sacct's lines for an array ({@link SlurmUsage#FORMAT}): per element, the element's line (wall, CPU, what
 * SLURM granted, its node) and the largest MaxRSS of its steps.
 */
class SlurmUsageTest {

    @Test
    void elementLinesGiveWallCpuGrantAndNodeAndStepsTheLargestPeak() {
        String out = """
                500_0|COMPLETED|00:00:03|00:01.250||4000M|1|00:05:00|node1
                500_0.batch|COMPLETED|00:00:03|00:01.240|104857K|4000M|1||node1
                500_0.extern|COMPLETED|00:00:03|00:00.010|1.5M|4000M|1||node1
                500_0.0|COMPLETED|00:00:01|00:00.010|2M|4000M|1||node1
                500_1|OUT_OF_MEMORY|1-02:03:04|1:02:03||30M|2|1-00:00:00|node2
                500_1.batch|OUT_OF_MEMORY|1-02:03:04|1:02:03|2G|30M|2||node2
                500_2|RUNNING|00:00:01|||4000M|1|00:05:00|node1
                500_[3-9]|PENDING|00:00:00|||4000M|1|00:05:00|None assigned
                501_0|COMPLETED|00:00:01|00:00.100||1G|1|00:05:00|node9
                """;
        Map<Integer, SlurmUsage.Figures> figures = SlurmUsage.parse(out, "500");
        assertEquals(new SlurmUsage.Figures(3000, 1250, 104857L * 1024, "node1", "mem=4000M,time=00:05:00"),
                figures.get(0));
        assertEquals(new SlurmUsage.Figures(((26 * 60 + 3) * 60 + 4) * 1000L, (62 * 60 + 3) * 1000L, 2L << 30,
                "node2", "mem=30M,time=1-00:00:00"), figures.get(1));
        assertEquals(new SlurmUsage.Figures(-1, -1, -1), figures.get(2), "a running element has no final figures");
        assertFalse(figures.containsKey(3), "a range of pending elements is no element");
        assertEquals(3, figures.size(), "another job's lines are not this array's");
    }

    @Test
    void grantedMemoryInEachVersionsUnitsAndOnlyLimitsThatAreLimits() {
        assertEquals("mem=4000M,time=00:05:00", SlurmUsage.granted("4000M", "1", "00:05:00"));
        assertEquals("mem=4G", SlurmUsage.granted("4096M", "1", "UNLIMITED"), "whole gigabytes as G");
        assertEquals("mem=4G", SlurmUsage.granted("4Gn", "8", "Partition_Limit"), "before 21.08: per node");
        assertEquals("mem=8000M", SlurmUsage.granted("2000Mc", "4", ""), "before 21.08: per CPU, times the CPUs");
        assertEquals("mem=512M", SlurmUsage.granted("512", "1", ""), "a bare number is megabytes");
        assertEquals("mem=2M", SlurmUsage.granted("1.5M", "1", ""), "rounded up to whole megabytes");
        assertEquals("time=2-00:00:00", SlurmUsage.granted("0", "1", "2-00:00:00"), "0: no memory limit");
        assertNull(SlurmUsage.granted("", "", ""));
        assertNull(SlurmUsage.granted("2000Mc", "", "INVALID"), "per CPU of an unknown count, no limit");
    }

    @Test
    void durationsAndSizesInSlurmsFormats() {
        assertEquals(1500, SlurmUsage.duration("00:01.500"));
        assertEquals(61_000, SlurmUsage.duration("00:01:01"));
        assertEquals(86_400_000 + 3_600_000, SlurmUsage.duration("1-01:00:00"));
        assertEquals(-1, SlurmUsage.duration(""));
        assertEquals(-1, SlurmUsage.duration("UNLIMITED"));
        assertEquals(2048, SlurmUsage.bytes("2K"));
        assertEquals(512, SlurmUsage.bytes("512"));
        assertEquals(-1, SlurmUsage.bytes(""));
    }
}
