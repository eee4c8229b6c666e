package dev.drover.local;

import dev.drover.Await;
import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.PipelineExtension;
import dev.drover.TestPipeline;
import dev.drover.plan.RunOptions;
import dev.drover.manifest.ManifestReader;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.TaskBatch;
import dev.drover.run.TaskState;
import org.apache.camel.component.seda.SedaEndpoint;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The multiprocessing and sequential lanes, through the real routes, running real processes. */
class LocalLanesTest {

    @RegisterExtension
    static final PipelineExtension pipeline = new PipelineExtension();
    @TempDir
    Path work;

    private static final RunOptions SEQUENTIAL = new RunOptions("sequential", null, null);

    private static RunOptions parallel(int jobs) {
        return new RunOptions("multiprocessing", jobs, null);
    }

    @Test
    void sequentialRunsEveryTaskInManifestOrder() throws Exception {
        Path order = work.resolve("order");
        JsonNode report = pipeline.run("""
                name: ordered
                command: [sh, -c, 'echo {item} >> %s; sleep 0.0{index}']
                items: [a, b, c, d, e, f]
                """.formatted(order), SEQUENTIAL);
        assertEquals("SUCCEEDED", report.get("state").asText());
        assertEquals(6, report.get("counts").get("succeeded").asInt());
        assertEquals(List.of("a", "b", "c", "d", "e", "f"), Files.readAllLines(order));
    }

    @Test
    void aBatchWhoseTasksTurnOutSlowGivesTheRestBackToItsLaneAsFarAsItHasRoom() throws Exception {
        // Batches are cut by how long tasks took so far; a batch whose first task outlasts that estimate hands its
        // unstarted tasks back to the lane one by one (idle slots take them), and runs here what does not fit.
        for (int room : new int[]{10, 1}) {
            Run run = recorded("turning-slow-" + room, "multiprocessing");
            SedaEndpoint lane = pipeline.runtime().context().getEndpoint(
                    "seda:" + LocalLanes.TEMPLATE + "-given-back-" + room + "?size=" + room, SedaEndpoint.class);
            runner().runBatch(new TaskBatch(run.id(), tasks(run)), fromLane(lane));

            List<Integer> given = lane.getQueue().stream()
                    .map(e -> e.getIn().getBody(TaskBatch.class).tasks())
                    .peek(batch -> assertEquals(1, batch.size(), "one task a batch"))
                    .map(batch -> batch.get(0).index()).toList();
            assertEquals(room == 10 ? List.of(1, 2, 3) : List.of(1), given);
            for (int index = 0; index < 4; index++) {
                assertEquals(given.contains(index) ? TaskState.PENDING : TaskState.SUCCEEDED, run.taskState(index),
                        "task " + index + " (given back: " + given + ")");
            }
            lane.getQueue().clear();
            run.cancel();
        }
    }

    @Test
    void aSequentialBatchGivesNothingBack() throws Exception {
        Run run = recorded("in-order", "sequential");
        SedaEndpoint feed = pipeline.runtime().context().getEndpoint("seda:feed-run", SedaEndpoint.class);
        runner().runBatch(new TaskBatch(run.id(), tasks(run)), fromLane(feed));
        for (int index = 0; index < 4; index++) {
            assertEquals(TaskState.SUCCEEDED, run.taskState(index), "task " + index);
        }
        assertTrue(feed.getQueue().isEmpty());
    }

    /** A recorded, unfed run of a slow task and three quick ones. */
    private static Run recorded(String name, String strategy) {
        return pipeline.runtime().record(RunPlan.resolve(ManifestReader.parse("""
                name: %s
                tasks:
                  - command: [sleep, "0.2"]
                  - command: ["true"]
                  - command: ["true"]
                  - command: ["true"]
                """.formatted(name)), new RunOptions(strategy, "sequential".equals(strategy) ? null : 2, null)));
    }

    private static List<TaskSpec> tasks(Run run) {
        return java.util.stream.IntStream.range(0, 4).mapToObj(i -> run.plan().manifest().tasks().task(i)).toList();
    }

    /** An exchange as the lane's consumer hands it on: with the lane as its endpoint. */
    private static Exchange fromLane(SedaEndpoint lane) {
        Exchange exchange = lane.createExchange();
        exchange.getExchangeExtension().setFromEndpoint(lane);
        return exchange;
    }

    private static LocalTaskRunner runner() {
        return pipeline.runtime().context().getRegistry().lookupByNameAndType("localRunner", LocalTaskRunner.class);
    }

    @Test
    void multiprocessingNeverRunsMoreThanJobsAtOnce() throws Exception {
        // Each task registers itself in a folder, counts who is there, and leaves: the tasks measure concurrency.
        Path slots = Files.createDirectories(work.resolve("slots"));
        Path seen = work.resolve("seen");
        JsonNode report = pipeline.run("""
                name: bounded
                command: [sh, -c, 'touch %1$s/{index}; ls %1$s | wc -l >> %2$s; sleep 0.3; rm %1$s/{index}']
                range: {end: 12}
                """.formatted(slots, seen), parallel(3));
        assertEquals("SUCCEEDED", report.get("state").asText());
        int max = Files.readAllLines(seen).stream().mapToInt(l -> Integer.parseInt(l.trim())).max().orElseThrow();
        assertTrue(max <= 3, "at most 3 at once, saw " + max);
        assertTrue(max >= 2, "tasks ran in parallel, saw at most " + max);
    }

    @Test
    void aLaneWhoseRunEndedServesTheNextRunWithTheSameJobsAndRunsSideBySideGetTheirOwn() throws Exception {
        // 7 jobs: no other test here uses it, so the lanes counted are this test's
        java.util.function.Supplier<List<String>> lanes = () -> pipeline.runtime().context().getRoutes().stream()
                .map(org.apache.camel.Route::getRouteId).filter(id -> id.startsWith(LocalLanes.TEMPLATE + "-"))
                .sorted().toList();
        List<String> before = lanes.get();
        pipeline.run("name: first\ntasks: [{command: [\"true\"]}]\n", parallel(7));
        List<String> afterFirst = lanes.get();
        assertEquals(before.size() + 1, afterFirst.size(), "the first run made a lane and kept it: " + afterFirst);
        pipeline.run("name: second\ntasks: [{command: [\"true\"]}]\n", parallel(7));
        assertEquals(afterFirst, lanes.get(), "the second run took the idle lane");
        // two runs at once each hold a lane: each keeps its own limit
        Run a = pipeline.start("name: side-a\ncommand: [sleep, '1']\nrange: {end: 7}\n", parallel(7));
        Run b = pipeline.start("name: side-b\ncommand: [sleep, '1']\nrange: {end: 7}\n", parallel(7));
        a.finished().get(30, TimeUnit.SECONDS);
        b.finished().get(30, TimeUnit.SECONDS);
        assertEquals(afterFirst.size() + 1, lanes.get().size(), "one more lane for the run beside the other");
    }

    @Test
    void recordsExitCodesAndFailsTheRunWhenATaskFails() throws Exception {
        JsonNode report = pipeline.run("""
                name: mixed
                tasks:
                  - {id: ok, command: ["true"]}
                  - {id: bad, command: [sh, -c, 'exit 7']}
                  - {id: missing, command: [/no/such/program]}
                """, parallel(2));
        assertEquals("FAILED", report.get("state").asText());
        assertEquals(1, report.get("counts").get("succeeded").asInt());
        assertEquals(2, report.get("counts").get("failed").asInt());
        JsonNode tasks = report.get("tasks");
        assertEquals(0, tasks.get(0).get("exitCode").asInt());
        assertEquals(7, tasks.get(1).get("exitCode").asInt());
        assertEquals("FAILED", tasks.get(1).get("state").asText());
        assertEquals(127, tasks.get(2).get("exitCode").asInt());
        assertTrue(tasks.get(2).get("reason").asText().contains("cannot start /no/such/program"));
        assertTrue(tasks.get(0).get("startedAt").asText().endsWith("Z"));
    }

    @Test
    void capturesStdoutAndStderrInThePerTaskLog() throws Exception {
        JsonNode report = pipeline.run("""
                name: logs
                tasks:
                  - id: talk
                    command: [sh, -c, 'echo out; echo err >&2; echo "$DROVER_TASK_ID $DROVER_TASK_INDEX $GREETING"']
                    env: {GREETING: hi}
                """, SEQUENTIAL);
        JsonNode task = report.get("tasks").get(0);
        assertEquals("logs/talk.log", task.get("log").asText());
        Path runDir = pipeline.runsDir().resolve(report.get("runId").asText());
        String log = Files.readString(runDir.resolve(task.get("log").asText()));
        assertTrue(log.contains("out") && log.contains("err") && log.contains("talk 0 hi"), log);
    }

    @Test
    void aTimeoutKillsTheWholeProcessTree() throws Exception {
        Path pidFile = work.resolve("child.pid");
        long started = System.nanoTime();
        JsonNode report = pipeline.run("""
                name: slow
                timeout: 1s
                tasks:
                  - command: [sh, -c, 'sleep 60 & echo $! > %s; wait']
                """.formatted(pidFile), SEQUENTIAL);
        assertTrue((System.nanoTime() - started) / 1e9 < 20, "did not wait for the sleep");
        JsonNode task = report.get("tasks").get(0);
        assertEquals("FAILED", task.get("state").asText());
        assertEquals("timed out after 1s", task.get("reason").asText(), task.toString());
        assertEquals(124, task.get("exitCode").asInt(), "as coreutils timeout gives it, and so the SLURM lane");
        long child = Long.parseLong(Files.readString(pidFile).trim());
        Await.until("the task's child was killed too", Duration.ofSeconds(5),
                () -> ProcessHandle.of(child).map(h -> !h.isAlive()).orElse(true));
    }

    @Test
    void retriesAFailedTaskUntilItSucceeds() throws Exception {
        Path marker = work.resolve("tried");
        JsonNode report = pipeline.run("""
                name: flaky
                retries: 2
                tasks:
                  - command: [sh, -c, 'if [ -e %1$s ]; then echo second; else touch %1$s; echo first; exit 1; fi']
                  - command: [sh, -c, 'exit 4']
                """.formatted(marker), parallel(2));
        JsonNode tasks = report.get("tasks");
        assertEquals("SUCCEEDED", tasks.get(0).get("state").asText());
        assertEquals(2, tasks.get(0).get("attempts").asInt());
        assertEquals("FAILED", tasks.get(1).get("state").asText());
        assertEquals(3, tasks.get(1).get("attempts").asInt());
        Path runDir = pipeline.runsDir().resolve(report.get("runId").asText());
        String log = Files.readString(runDir.resolve("logs/0.log"));
        assertTrue(log.contains("first") && log.contains("attempt 1 failed") && log.contains("second"), log);
    }

    @Test
    void generatorTasksGetTheirItemAndIndex() throws Exception {
        Path out = Files.createDirectories(work.resolve("out"));
        JsonNode report = pipeline.run("""
                name: generated
                command: [sh, -c, 'echo {item} > %s/{index}.txt']
                range: {start: 100, end: 150, step: 10}
                """.formatted(out), parallel(2));
        assertEquals(5, report.get("counts").get("succeeded").asInt());
        assertEquals("130", Files.readString(out.resolve("3.txt")).trim());
    }

    @Test
    void runRecordHoldsManifestPlanJournalAndReport() throws Exception {
        JsonNode report = pipeline.run("name: record\ntasks: [{command: [\"true\"]}]\n", SEQUENTIAL);
        Path runDir = pipeline.runsDir().resolve(report.get("runId").asText());
        for (String file : List.of("manifest.yaml", "plan.json", "journal.log", "report.json", "logs")) {
            assertTrue(Files.exists(runDir.resolve(file)), file);
        }
        assertFalse(Files.exists(runDir.resolve("logs/0.log")), "a task that printed nothing leaves no log");
        List<String> journal = Files.readAllLines(runDir.resolve("journal.log"));
        assertTrue(journal.get(0).startsWith("accepted\t"));
        assertTrue(journal.get(journal.size() - 1).startsWith("finished\t"));
        assertEquals("sequential", report.get("strategy").asText());
    }

    @Test
    void cancellingStopsRunningTasksAndReportsCancelled() throws Exception {
        Run run = pipeline.start("name: cancel\ncommand: [sleep, '30']\nrange: {end: 6}\n", parallel(2));
        Await.until("two tasks running", Duration.ofSeconds(30),
                () -> run.count(dev.drover.run.TaskState.RUNNING) >= 2);
        Files.createFile(run.dir().resolve(dev.drover.run.RunRegistry.CANCEL_REQUEST));
        assertEquals(dev.drover.run.RunState.CANCELLED, run.finished().get(20, TimeUnit.SECONDS));
        JsonNode report = TestPipeline.report(run.dir());
        assertEquals("CANCELLED", report.get("state").asText());
        assertEquals(6, report.get("counts").get("cancelled").asInt());
    }
}
