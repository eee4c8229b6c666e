package dev.drover.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What report.html holds, and that nothing a task printed or was named can break out of its place in the page. */
class HtmlReportTest {

    private static final long T0 = 1_800_000_000_000L;

    @TempDir
    Path runs;

    @Test
    void taskOutputReasonsAndIdsAreTextNeverMarkup() throws Exception {
        String hostile = "</script><script>alert(1)</script><img src=x onerror=alert(2)>";
        SyntheticRun run = new SyntheticRun().rerunOf("first-<b>run</b>");
        run.task(new SyntheticRun.Task("id" + hostile.replace("/", ""), "FAILED", 3, T0, T0 + 10, 0.01, 0, 1, hostile));
        Path dir = run.write(runs, "r");
        String id = "id" + hostile.replace("/", "");
        Files.writeString(dir.resolve("logs/" + id + ".log"), "fine\n" + hostile + "\u001b[31mred\u0007\n");
        String page = Files.readString(HtmlReport.write(dir, null));
        assertFalse(page.contains("alert(1)</script>"), "a task's text closed the page's script block");
        assertFalse(page.contains("<img src=x"), page);
        assertFalse(page.contains("<b>run</b>"));
        assertTrue(page.contains("&lt;img src=x onerror=alert(2)&gt;"), "the log tail is shown as text");
        assertTrue(page.contains("[31mred"), "control characters are dropped, the text kept");
        assertFalse(page.contains("\u001b"));
        assertEquals(2, page.split("<script", -1).length - 1, "only the page's own two script blocks");
    }

    @Test
    void thePageNeedsNothingFromTheNetwork() throws Exception {
        Path dir = new SyntheticRun().measured(T0, 1, 1, 1 << 20).write(runs, "r");
        String page = Files.readString(HtmlReport.write(dir, null));
        assertFalse(page.matches("(?s).*(src|href)\\s*=\\s*[\"']?(https?:)?//.*"), "no external resource");
        assertFalse(page.contains("@import"));
        assertTrue(page.contains("<style>") && page.contains("drawTimeline"), "CSS and script are inline");
    }

    @Test
    void aHundredThousandTaskRunMakesAPageOfBoundedSizeWithAnAggregatedTimeline() throws Exception {
        SyntheticRun run = new SyntheticRun().resource("mem", "1G");
        java.util.Random random = new java.util.Random(7);
        long[] free = new long[256];
        for (int i = 0; i < 100_000; i++) {
            int slot = i % free.length;
            double wall = 1 + random.nextDouble() * 9;
            boolean failed = random.nextInt(50) == 0;
            run.task(new SyntheticRun.Task(String.format("t%06d", i), failed ? "FAILED" : "SUCCEEDED", failed ? 1 : 0,
                    T0 + free[slot], T0 + free[slot] + Math.round(wall * 1000), wall, wall / 2,
                    (50 + random.nextInt(70)) << 20, failed ? "exit code 1" : null));
            free[slot] += Math.round(wall * 1000);
        }
        Path dir = run.write(runs, "big");
        for (int i = 0; i < 100_000; i += 50) {
            Files.writeString(dir.resolve(String.format("logs/t%06d.log", i)), "x".repeat(5000) + "\nlast line\n");
        }
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long started = System.nanoTime();
        long cpuStarted = threads.getCurrentThreadCpuTime();
        Path html = HtmlReport.write(dir, runs.resolve("elsewhere.html"));
        long size = Files.size(html);
        System.out.printf("100,000-task report.html: %d bytes in %d ms (%d ms of CPU)%n", size,
                (System.nanoTime() - started) / 1_000_000, (threads.getCurrentThreadCpuTime() - cpuStarted) / 1_000_000);
        assertTrue(size <= 5L << 20, "report.html is " + size + " bytes");
        String page = Files.readString(html);
        assertTrue(page.contains("\"cells\":["), "the timeline is a grid, not 100,000 bars");
        assertFalse(page.contains("\"bars\""));
        assertTrue(page.contains("id=\"count-total\"><b>100000</b>"));
        assertTrue(page.contains("drover logs big --failed"), "failed tasks beyond the first hundred are pointed to");
        assertTrue(page.contains("try mem="), "the advice is on the page");
    }
}
