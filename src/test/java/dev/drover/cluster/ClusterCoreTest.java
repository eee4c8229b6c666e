package dev.drover.cluster;

import dev.drover.Await;
import dev.drover.manifest.ManifestException;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.Settings;
import dev.drover.run.TaskState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.drover.cluster.BackendId.Format.KUBERNETES;
import static dev.drover.cluster.BackendId.Format.SLURM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The backend-independent parts of the cluster lanes: ids, settle-or-retry, the poller, settings. */
class ClusterCoreTest {

    @TempDir
    Path tmp;

    @Test
    void backendIdsAreReadOnlyAsDroverWritesThem() {
        assertEquals(new BackendId("123", 7), SLURM.parse(SLURM.format("123", 7)));
        assertEquals(new BackendId("drover-x-ab12cd", 3), KUBERNETES.parse(KUBERNETES.format("drover-x-ab12cd", 3)));
        for (String foreign : new String[]{"123", "123_", "_4", "12a_3", "123_4_5", "123_1234567890", "123/4", ""}) {
            assertNull(SLURM.parse(foreign), foreign);
        }
        for (String foreign : new String[]{"job", "job/", "/3", "Job/3", "a/b/3", "123_4", "job/x"}) {
            assertNull(KUBERNETES.parse(foreign), foreign);
        }
        assertNull(SLURM.parse(null));
    }

    @Test
    void aFailedAttemptIsRetriedWhileRetriesLastThenFails() {
        Run run = run(1);
        run.taskStarted(0, 1);
        Settlement.Outcome oom = new Settlement.Outcome(137, "OUT_OF_MEMORY", "SLURM OUT_OF_MEMORY",
                Settlement.Cause.of("OUT_OF_MEMORY"));
        assertEquals(Settlement.Cause.OUT_OF_MEMORY, oom.cause());
        assertTrue(new Settlement(5).settle(run, 0, 1, oom), "one retry left");
        assertEquals(1, run.retriesUsed(0));
        run.taskStarted(0, 2);
        assertFalse(new Settlement(5).settle(run, 0, 2, oom));
        assertEquals(TaskState.FAILED, run.taskState(0));

        run.taskStarted(1, 1);
        assertFalse(new Settlement(5).settle(run, 1, 1, new Settlement.Outcome(0, "COMPLETED", null,
                Settlement.Cause.EXIT)));
        assertEquals(TaskState.SUCCEEDED, run.taskState(1));
    }

    @Test
    void aCancelledRunsFailedAttemptIsCancelledNotRetried() {
        Run run = run(3);
        run.taskStarted(0, 1);
        run.cancel();
        assertFalse(new Settlement(5).settle(run, 0, 1, new Settlement.Outcome(143, "CANCELLED", null,
                Settlement.Cause.CANCELLED)));
        assertEquals(TaskState.CANCELLED, run.taskState(0));
    }

    @Test
    void thePollerBacksOffWhileNothingHappensAndAWakeRunsACycleAtOnce() {
        try (TestScheduler scheduler = new TestScheduler()) {
            AtomicInteger cycles = new AtomicInteger();
            // no progress: 200 ms to the first cycle, 400 ms to the next, and so on
            Poller poller = scheduler.get().poller("test", () -> cycles.incrementAndGet() < 0, Duration.ofMillis(200),
                    Duration.ofHours(1)).start();
            Await.until("the first cycle", Duration.ofSeconds(10), () -> cycles.get() == 1);
            assertFalse(Await.within(Duration.ofMillis(300), () -> cycles.get() > 1), "backed off");
            poller.wake();
            Await.until("the woken cycle", Duration.ofSeconds(10), () -> cycles.get() == 2);
            poller.stop();
            poller.wake();
            assertFalse(Await.within(Duration.ofMillis(300), () -> cycles.get() > 2), "stopped");
        }
    }

    @Test
    void aCycleThatThrowsDoesNotEndThePolling() {
        try (TestScheduler scheduler = new TestScheduler()) {
            AtomicInteger cycles = new AtomicInteger();
            Poller poller = scheduler.get().poller("test", () -> {
                cycles.incrementAndGet();
                throw new IllegalStateException("squeue exploded");
            }, Duration.ofMillis(1), Duration.ofMillis(5)).start();
            Await.until("cycles after the failure", Duration.ofSeconds(10), () -> cycles.get() >= 3);
            poller.stop();
        }
    }

    @Test
    void aMissingOrMalformedSettingNamesItsKey() {
        Properties properties = new Properties();
        properties.setProperty("drover.slurm.poll-max", "soon");
        Settings p = Settings.of(properties, "my.properties");
        assertEquals("drover.slurm.poll-initial: is not set: give it a value in my.properties (drover's own copy of"
                + " that file has every key, with its default)", assertThrows(ManifestException.class,
                () -> p.millis("drover.slurm.poll-initial")).getMessage());
        assertEquals("drover.slurm.poll-max: 'soon' in my.properties is not a whole number of milliseconds",
                assertThrows(ManifestException.class, () -> p.millis("drover.slurm.poll-max")).getMessage());
    }

    @Test
    void anEscalationAndAFreeRerunAreJournalledReplayedAndToldInTheReport() throws Exception {
        Run run = new RunRegistry(tmp.resolve("runs")).accept(RunPlan.resolve(ManifestReader.parse("""
                name: escalate
                strategy: slurm
                jobResources: {mem: 1G, time: "10:00"}
                retries: 1
                escalate: {mem: 3, maxMem: 2G}
                command: ['true', '{index}']
                range: {start: 0, end: 2}
                """), RunOptions.NONE));
        Settlement settlement = new Settlement(5);
        run.taskStarted(0, 1);
        run.taskBackend(0, "100_0", "RUNNING", "vm1");
        assertTrue(settlement.settle(run, 0, 1, new Settlement.Outcome(0, "OUT_OF_MEMORY", "SLURM OUT_OF_MEMORY",
                Settlement.Cause.OUT_OF_MEMORY, "vm1")));
        assertEquals("2G", run.taskResources(0).get("mem"), "3 x 1G, capped at maxMem");
        assertEquals("10:00", run.taskResources(0).get("time"));
        run.taskStarted(0, 2);
        assertFalse(settlement.settle(run, 0, 2, new Settlement.Outcome(0, "COMPLETED", null,
                Settlement.Cause.EXIT)));
        run.taskStarted(1, 1);
        assertTrue(settlement.settle(run, 1, 1, new Settlement.Outcome(0, "NODE_FAIL", "SLURM NODE_FAIL",
                Settlement.Cause.NODE_FAIL, "vm1")));
        assertEquals(0, run.retriesUsed(1), "a node failure spends no retry");
        assertEquals("vm1", run.failedNode(1));
        run.taskStarted(1, 2);
        settlement.settle(run, 1, 2, new Settlement.Outcome(0, "COMPLETED", null, Settlement.Cause.EXIT));
        Await.until("the report is written", Duration.ofSeconds(10), () -> run.finished().isDone());

        var report = new com.fasterxml.jackson.databind.ObjectMapper().readTree(run.dir().resolve("report.json")
                .toFile());
        assertEquals(1, report.get("escalated").asInt());
        assertEquals(1, report.get("requeued").asInt());
        var history = report.get("tasks").get(0).get("history");
        assertEquals(2, history.size(), history.toString());
        assertEquals("ESCALATED", history.get(0).get("state").asText());
        assertEquals("OUT_OF_MEMORY", history.get(0).get("backendState").asText());
        assertEquals("vm1", history.get(0).get("node").asText());
        assertEquals("1G", history.get(0).get("resources").get("mem").asText());
        assertEquals("2G", history.get(1).get("resources").get("mem").asText());
        assertEquals("SUCCEEDED", history.get(1).get("state").asText());
        var rerun = report.get("tasks").get(1).get("history");
        assertEquals("RERUN", rerun.get(0).get("state").asText());
        assertEquals("SUCCEEDED", rerun.get(1).get("state").asText());
    }

    private Run run(int retries) {
        return new RunRegistry(tmp.resolve("runs")).accept(RunPlan.resolve(ManifestReader.parse("""
                name: settle
                strategy: slurm
                jobResources: {time: "10:00"}
                retries: %d
                command: ['true', '{index}']
                range: {start: 0, end: 2}
                """.formatted(retries)), RunOptions.NONE));
    }
}
