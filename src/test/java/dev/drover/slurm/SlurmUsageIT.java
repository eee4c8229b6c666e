package dev.drover.slurm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.TestPipeline;
import dev.drover.camel.DroverRuntime;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.report.Efficiency;
import dev.drover.run.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Usage from SLURM's accounting (slurmdbd on the test cluster) against known work: a task that holds 200 MB and burns
 * 1 s of CPU reports about that, asked of sacct once for its array, with the node and memory SLURM gave it in its
 * history; a run that asked for 1G is told to ask for less. With accounting off, the same from drover-launch.
 */
@ExtendWith(SlurmClusterExtension.class)
class SlurmUsageIT {

    /** Holds 200 MB (touched), burns 1 s of CPU, then holds it 3 s more: longer than SLURM's sampling interval. */
    static final String WORK = "x = b'x' * (200 << 20)\\nimport time\\nt = time.process_time()\\n"
            + "while time.process_time() - t < 1: pass\\ntime.sleep(3)\\n";

    @TempDir
    Path tmp;

    private DroverRuntime start(Map<String, String> more) throws Exception {
        Map<String, String> settings = new java.util.HashMap<>(Map.of(
                "drover.runs-dir", tmp.resolve("runs").toString(),
                "drover.slurm.poll-initial", "200",
                "drover.slurm.poll-max", "2000",
                "drover.slurm.squeue-min-interval", "1000"));
        settings.putAll(more);
        return DroverRuntime.start(Path.of("").toAbsolutePath(), settings);
    }

    @Test
    void sacctFiguresOfEachTaskReachTheReportAndTheAdvice() throws Exception {
        try (DroverRuntime runtime = start(Map.of())) {
            Run run = TestPipeline.submit(runtime, RunPlan.resolve(ManifestReader.parse("""
                    name: slurm-usage
                    tasks:
                      - id: work
                        command: [python3, -c, "%s"]
                      - id: quick
                        command: ["true"]
                    """.formatted(WORK)), new RunOptions("slurm", null, "mem=1G,time=00:05:00")));
            run.finished().get(240, TimeUnit.SECONDS);
            JsonNode report = JsonMapper.builder().build().readTree(run.dir().resolve("report.json").toFile());
            assertEquals("SUCCEEDED", report.get("state").asText(), report.toString());
            JsonNode work = report.get("tasks").get(0).get("usage");
            assertNotNull(work, "no usage from sacct: " + report);
            double cpu = work.get("cpuSeconds").asDouble();
            long rss = work.get("maxRssBytes").asLong();
            assertTrue(cpu >= 0.9 && cpu < 6, "sacct's TotalCPU " + cpu + " s, not about 1: " + work);
            assertTrue(rss >= 190L << 20 && rss < 400L << 20, "sacct's MaxRSS " + rss + " bytes, not ~200 MB");
            assertTrue(work.get("wallSeconds").asDouble() >= 4, "Elapsed below the task's 4 s: " + work);
            JsonNode attempt = report.get("tasks").get(0).get("history").get(0);
            assertEquals(SlurmRetriesIT.command("sinfo", "-h", "-o", "%N").strip(), attempt.path("node").asText(),
                    "the node, from sacct's NodeList: " + attempt);
            assertEquals("1G", attempt.path("resources").path("mem").asText(), "sacct's ReqMem: " + attempt);
            assertEquals("00:05:00", attempt.path("resources").path("time").asText(), "sacct's Timelimit: " + attempt);
            assertNotNull(report.get("tasks").get(1).get("usage"), "the quick task's figures: " + report);
            long usageLines = Files.readAllLines(run.dir().resolve("journal.log")).stream()
                    .filter(line -> line.startsWith("usage\t")).count();
            assertEquals(2, usageLines, "one usage line per task");
            String advice = Efficiency.adviceFor(run.dir());
            assertTrue(advice != null && advice.startsWith("mem=1G is") && advice.contains("try mem="),
                    String.valueOf(advice));
        }
    }

    /**
     * Accounting off (a sacct that fails, as without slurmdbd): the figures drover-launch measured inside the element
     * reach the report, for one-task elements and for each task of a slurm+batching element.
     */
    @Test
    void withAccountingOffEachTaskReportsWhatItsElementMeasured() throws Exception {
        try (DroverRuntime runtime = start(Map.of("drover.slurm.sacct", "false"))) {
            for (String strategy : new String[]{"slurm", "slurm+batching"}) {
                Run run = TestPipeline.submit(runtime, RunPlan.resolve(ManifestReader.parse("""
                        name: slurm-usage-off
                        tasks:
                          - id: work
                            command: [python3, -c, "%s"]
                          - id: quick
                            command: ["true"]
                        """.formatted(WORK)), new RunOptions(strategy, strategy.equals("slurm") ? null : 1,
                        "mem=1G,time=00:05:00")));
                run.finished().get(240, TimeUnit.SECONDS);
                JsonNode report = JsonMapper.builder().build().readTree(run.dir().resolve("report.json").toFile());
                assertEquals("SUCCEEDED", report.get("state").asText(), report.toString());
                JsonNode work = report.get("tasks").get(0).get("usage");
                assertNotNull(work, strategy + ": no usage from the element: " + report);
                double cpu = work.get("cpuSeconds").asDouble();
                long rss = work.get("maxRssBytes").asLong();
                assertTrue(cpu >= 0.9 && cpu < 6, strategy + ": CPU " + cpu + " s, not about 1: " + work);
                assertTrue(rss >= 200L << 20 && rss < 400L << 20, strategy + ": peak " + rss + " bytes, not ~200 MB");
                assertTrue(work.get("wallSeconds").asDouble() >= 4, strategy + ": wall below the task's 4 s: " + work);
                JsonNode quick = report.get("tasks").get(1).get("usage");
                assertNotNull(quick, strategy + ": the quick task's figures: " + report);
                assertTrue(quick.get("cpuSeconds").asDouble() < 0.5, strategy + ": its own figures: " + quick);
            }
        }
    }
}
