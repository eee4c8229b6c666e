package dev.drover.slurm;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** Reading sacct's figures for an array: per element, the element's line and the largest MaxRSS of its steps. */
class SlurmUsageTest {

    @Test
    void elementLinesGiveWallAndCpuAndStepsTheLargestPeak() {
        String out = """
                500_0|COMPLETED|00:00:03|00:01.250|
                500_0.batch|COMPLETED|00:00:03|00:01.240|104857K
                500_0.extern|COMPLETED|00:00:03|00:00.010|1.5M
                500_1|OUT_OF_MEMORY|1-02:03:04|1:02:03|
                500_1.batch|OUT_OF_MEMORY|1-02:03:04|1:02:03|2G
                500_2|RUNNING|00:00:01||
                500_[3-9]|PENDING|00:00:00||
                501_0|COMPLETED|00:00:01|00:00.100|
                """;
        Map<Integer, SlurmUsage.Figures> figures = SlurmUsage.parse(out, "500");
        assertEquals(new SlurmUsage.Figures(3000, 1250, 104857L * 1024), figures.get(0));
        assertEquals(new SlurmUsage.Figures(((26 * 60 + 3) * 60 + 4) * 1000L, (62 * 60 + 3) * 1000L, 2L << 30),
                figures.get(1));
        assertEquals(new SlurmUsage.Figures(-1, -1, -1), figures.get(2), "a running element has no final figures");
        assertFalse(figures.containsKey(3), "a range of pending elements is no element");
        assertEquals(3, figures.size(), "another job's lines are not this array's");
    }

    @Test
    void durationsAndSizesInSlurmsFormats() {
        assertEquals(1500, SlurmUsage.duration("00:01.500"));
        assertEquals(61_000, SlurmUsage.duration("00:01:01"));
        assertEquals(86_400_000 + 3_600_000, SlurmUsage.duration("1-01:00:00"));
        assertEquals(-1, SlurmUsage.duration(""));
        assertEquals(2048, SlurmUsage.bytes("2K"));
        assertEquals(512, SlurmUsage.bytes("512"));
        assertEquals(-1, SlurmUsage.bytes(""));
    }
}
