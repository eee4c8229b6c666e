package dev.drover.report;

import dev.drover.TestPipeline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * report.html as a user gets it (bin/drover) and sees it (a real headless Chromium): it loads with no console message
 * at all, its script draws every chart, it shows the counts; screenshots of a 3-task and a 100,000-task run are kept
 * in target/report-screenshots for a person to look at.
 */
class ReportBrowserIT {

    private static final Path SCREENSHOTS = TestPipeline.HOME.resolve("target/report-screenshots");

    @TempDir
    Path dir;

    private String drover(String... args) throws Exception {
        List<String> argv = new java.util.ArrayList<>(List.of(TestPipeline.HOME.resolve("bin/drover").toString()));
        argv.addAll(List.of(args));
        Path out = dir.resolve("drover.out");
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "drover did not finish: " + argv);
        return p.exitValue() + "\n" + Files.readString(out);
    }

    private static void assertLoadedAndCounted(HeadlessChromium.Loaded page, int total, int succeeded, int failed) {
        assertEquals(List.of(), page.console(), "the page printed to the console");
        assertTrue(page.dom().contains("data-rendered=\"ok\""), "the page's script did not finish drawing");
        assertTrue(page.dom().contains("id=\"count-total\"><b>" + total + "</b>"), "total count");
        assertTrue(page.dom().contains("id=\"count-succeeded\"><b>" + succeeded + "</b>"), "succeeded count");
        assertTrue(page.dom().contains("id=\"count-failed\"><b>" + failed + "</b>"), "failed count");
    }

    @Test
    void aThreeTaskRunWritesAPageTheBrowserShows() throws Exception {
        Path manifest = Files.writeString(dir.resolve("m.yaml"), String.join("\n",
                "name: three",
                "tasks:",
                "  - {id: quick, command: [\"true\"]}",
                "  - {id: broken, command: [sh, -c, 'echo \"cannot open input.tif\" >&2; exit 3']}",
                "  - {id: slower, command: [sleep, \"0.3\"]}", ""));
        Path runs = dir.resolve("runs");
        String result = drover("run", manifest.toString(), "--runs-dir", runs.toString());
        assertTrue(result.startsWith("1\n"), result);
        Path runDir;
        try (Stream<Path> dirs = Files.list(runs)) {
            runDir = dirs.findFirst().orElseThrow();
        }
        Path html = runDir.resolve(HtmlReport.FILE);
        assertTrue(Files.isRegularFile(html), "drover run left no report.html: " + result);
        HeadlessChromium browser = new HeadlessChromium(dir);
        HeadlessChromium.Loaded page = browser.load(html);
        assertLoadedAndCounted(page, 3, 2, 1);
        assertTrue(page.dom().contains("cannot open input.tif"), "the failed task's log tail is on the page");
        Files.createDirectories(SCREENSHOTS);
        assertPng(browser.screenshot(html, SCREENSHOTS.resolve("three-tasks.png"), 1300));
    }

    @Test
    void aHundredThousandTaskRunsPageStaysSmallAndQuick() throws Exception {
        SyntheticRun run = new SyntheticRun().resource("mem", "1G").resource("time", "2:00:00");
        Random random = new Random(11);
        long t0 = 1_800_000_000_000L;
        long[] free = new long[500];
        int failures = 0;
        for (int i = 0; i < 100_000; i++) {
            int slot = random.nextInt(free.length);
            double wall = Math.exp(random.nextGaussian() * 0.5 + 3);
            boolean failed = i > 60_000 && i < 62_000 || random.nextInt(200) == 0;
            failures += failed ? 1 : 0;
            run.task(new SyntheticRun.Task(String.format("chunk-%06d", i), failed ? "FAILED" : "SUCCEEDED",
                    failed ? 137 : 0, t0 + free[slot], t0 + free[slot] + Math.round(wall * 1000), wall, wall * 0.8,
                    (60L + random.nextInt(60)) << 20, failed ? "out of memory" : null));
            free[slot] += Math.round(wall * 1000) + random.nextInt(200);
        }
        Path runs = dir.resolve("runs");
        run.write(runs, "big-run");
        String result = drover("report", "big-run", "--runs-dir", runs.toString());
        assertTrue(result.startsWith("0\n"), result);
        assertTrue(result.contains("advice: mem=1G is 8.6x more than the largest task used (119M); try mem=150M"),
                result);
        Path html = runs.resolve("big-run").resolve(HtmlReport.FILE);
        long size = Files.size(html);
        assertTrue(size <= 5L << 20, "report.html is " + size + " bytes");
        HeadlessChromium browser = new HeadlessChromium(dir);
        HeadlessChromium.Loaded page = browser.load(html);
        System.out.printf("100,000-task report.html: %d bytes, loaded by headless Chromium in %d ms%n", size,
                page.millis());
        assertLoadedAndCounted(page, 100_000, 100_000 - failures, failures);
        Files.createDirectories(SCREENSHOTS);
        assertPng(browser.screenshot(html, SCREENSHOTS.resolve("hundred-thousand-tasks.png"), 1700));
    }

    private static void assertPng(Path png) throws Exception {
        byte[] bytes = Files.readAllBytes(png);
        assertTrue(bytes.length > 20_000, png + " is only " + bytes.length + " bytes: a blank page?");
        assertEquals(0x89, bytes[0] & 0xff);
        assertEquals('P', bytes[1]);
    }
}
