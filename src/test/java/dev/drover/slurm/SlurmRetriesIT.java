package dev.drover.slurm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.Await;
import dev.drover.TestPipeline;
import dev.drover.camel.DroverRuntime;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.TaskState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Failure-aware retries on the real one-node cluster, which enforces memory (cgroup): an attempt that runs out of
 * memory is retried with more, and one whose node fails runs again without spending a retry (issue 13).
 */
@ExtendWith(SlurmClusterExtension.class)
class SlurmRetriesIT {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    static Path tmp;
    static DroverRuntime runtime;

    @BeforeAll
    static void start() throws Exception {
        runtime = QuickSlurmRuntime.start(tmp.resolve("runs"));
    }

    @AfterAll
    static void stop() throws Exception {
        QuickSlurmRuntime.stop(runtime);
    }

    static Run submit(String yaml, String resources) {
        return TestPipeline.submit(runtime,
                RunPlan.resolve(ManifestReader.parse(yaml), new RunOptions("slurm", null, resources)));
    }

    static JsonNode report(Run run) throws Exception {
        return JSON.readTree(run.dir().resolve("report.json").toFile());
    }

    @Test
    void aTaskOutOfMemorySucceedsWithMoreAndBothAttemptsAreInItsHistory() throws Exception {
        Run run = submit("""
                name: oom
                retries: 1
                escalate: {mem: 6}
                tasks:
                  - id: hungry
                    # about 50 MB resident: over 30M, well under 6 x 30M
                    command: [awk, 'BEGIN { s = sprintf("%10000000s", ""); system("sleep 1"); print length(s) }']
                """, "mem=30M,time=00:05:00");
        run.finished().get(180, TimeUnit.SECONDS);
        JsonNode task = report(run).get("tasks").get(0);
        assertEquals("SUCCEEDED", task.get("state").asText(), task.toString());
        JsonNode history = task.get("history");
        assertEquals(2, history.size(), history.toString());
        assertEquals("OUT_OF_MEMORY", history.get(0).get("backendState").asText(), history.toString());
        assertEquals("ESCALATED", history.get(0).get("state").asText());
        // what SLURM granted each attempt (sacct's ReqMem), and where it ran
        assertEquals("30M", history.get(0).get("resources").get("mem").asText());
        assertEquals("180M", history.get(1).get("resources").get("mem").asText());
        String node = command("sinfo", "-h", "-o", "%N").strip();
        assertEquals(List.of(node, node), List.of(history.get(0).path("node").asText(),
                history.get(1).path("node").asText()), history.toString());
        assertEquals("SUCCEEDED", history.get(1).get("state").asText());
        assertEquals(1, report(run).get("escalated").asInt());
    }

    @Test
    void aTaskOverItsTimeLimitSucceedsWithMoreTime() throws Exception {
        // SLURM ends a 1-minute job 60-90 s after its start; 100 s of work fits the escalated 2 minutes
        Run run = submit("""
                name: slow
                retries: 1
                tasks:
                  - id: slow
                    command: [sleep, '100']
                """, "mem=20M,time=1");
        run.finished().get(420, TimeUnit.SECONDS);
        JsonNode task = report(run).get("tasks").get(0);
        assertEquals("SUCCEEDED", task.get("state").asText(), task.toString());
        JsonNode history = task.get("history");
        assertEquals("TIMEOUT", history.get(0).get("backendState").asText(), history.toString());
        // the limits SLURM set (sacct's Timelimit): 1 minute, then twice that
        assertEquals("00:01:00", history.get(0).get("resources").get("time").asText(), history.toString());
        assertEquals("00:02:00", history.get(1).get("resources").get("time").asText(), history.toString());
    }

    @Test
    void aTaskWhoseNodeFailsRunsAgainWithoutSpendingARetry() throws Exception {
        String node = command("sinfo", "-h", "-o", "%N").strip();
        Run run = submit("""
                name: nodefail
                tasks:
                  - id: long
                    command: [sleep, '20']
                """, "mem=20M,time=00:05:00");
        try {
            Await.until("the task runs", Duration.ofSeconds(60), () -> run.taskState(0) == TaskState.RUNNING
                    && !command("squeue", "-h", "-t", "RUNNING", "-n", SbatchScript.jobName("nodefail")).isBlank());
            command("scontrol", "update", "nodename=" + node, "state=down", "reason=drover-test");
            Await.until("the node failure is seen", Duration.ofSeconds(90), () -> run.reruns(0) == 1);
        } finally {
            command("scontrol", "update", "nodename=" + node, "state=resume");
        }
        run.finished().get(180, TimeUnit.SECONDS);
        JsonNode task = report(run).get("tasks").get(0);
        assertEquals("SUCCEEDED", task.get("state").asText(), task.toString());
        assertEquals(0, run.retriesUsed(0), "retries: 0, and yet it ran again");
        JsonNode history = task.get("history");
        assertEquals(List.of("RERUN", "SUCCEEDED"), List.of(history.get(0).get("state").asText(),
                history.get(1).get("state").asText()), history.toString());
        assertTrue(history.get(0).get("backendState").asText().equals("NODE_FAIL"), history.toString());
        assertEquals(1, report(run).get("requeued").asInt());
    }

    static String command(String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }
}
