package dev.drover.cluster;

import dev.drover.cluster.Settlement.Cause;
import dev.drover.cluster.Settlement.Decision;
import dev.drover.cluster.Settlement.Kind;
import dev.drover.cluster.Settlement.Outcome;
import dev.drover.manifest.Escalate;
import dev.drover.manifest.JobResources;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The decision for an ended cluster attempt, written once for SLURM and Kubernetes, without a cluster. */
class SettlementTest {

    final Settlement settlement = new Settlement(5);
    final JobResources resources = JobResources.parse("mem=1G,time=00:10:00");

    private Decision decide(String backendState, int exitCode, Settlement.Task task, Escalate escalate) {
        return settlement.decide(new Outcome(exitCode, backendState, "SLURM " + backendState,
                Cause.of(backendState), "vm1"), false, task, escalate);
    }

    private Settlement.Task task(int retriesUsed, int retries, int reruns) {
        return new Settlement.Task(resources, retriesUsed, retries, reruns);
    }

    @Test
    void outOfMemoryAndOomKilledGrowTheMemoryAndSpendARetry() {
        for (String state : new String[]{"OUT_OF_MEMORY", "OOMKilled"}) {
            Decision d = decide(state, 137, task(0, 2, 0), Escalate.DEFAULT);
            assertEquals(Kind.ESCALATE, d.kind(), state);
            assertEquals("2G", d.resources().get("mem"));
            assertNull(d.resources().get("time"), "only what ran out grows");
        }
        Decision factor = decide("OUT_OF_MEMORY", 137, task(0, 1, 0), new Escalate(1.5, 2, 0, 0));
        assertEquals("1536M", factor.resources().get("mem"));
    }

    @Test
    void theCapLimitsTheGrowthAndATaskAtTheCapFailsSayingSo() {
        Escalate capped = new Escalate(4, 2, 3 * 1024, 0);
        assertEquals("3G", decide("OUT_OF_MEMORY", 137, task(0, 3, 0), capped).resources().get("mem"));
        Settlement.Task atCap = new Settlement.Task(JobResources.parse("mem=3G"), 1, 3, 0);
        Decision d = settlement.decide(new Outcome(137, "OUT_OF_MEMORY", "SLURM OUT_OF_MEMORY",
                Cause.OUT_OF_MEMORY), false, atCap, capped);
        assertEquals(Kind.FAIL, d.kind());
        assertTrue(d.reason().contains("mem=3G is already at escalate.maxMem"), d.reason());
    }

    @Test
    void aClusterTimeLimitGrowsTheTimeButTheManifestsOwnTimeoutDoesNot() {
        Decision d = decide("TIMEOUT", 0, task(0, 1, 0), Escalate.DEFAULT);
        assertEquals(Kind.ESCALATE, d.kind());
        assertEquals("0-00:20:00", d.resources().get("time"));
        Decision own = settlement.decide(new Outcome(124, "FAILED", "timed out after 5s", Cause.TIMEOUT), false,
                task(0, 1, 0), Escalate.DEFAULT);
        assertEquals(Kind.RETRY, own.kind(), "the per-task timeout is the task's, not the cluster's");
        assertEquals(Kind.ESCALATE, decide("DeadlineExceeded", 137, task(0, 1, 0), Escalate.DEFAULT).kind(),
                "Kubernetes: a pod over its activeDeadlineSeconds from --job-resources time");
        Decision ownPod = settlement.decide(new Outcome(124, "DeadlineExceeded", "timed out after 5s", Cause.TIMEOUT),
                false, task(0, 1, 0), Escalate.DEFAULT);
        assertEquals(Kind.RETRY, ownPod.kind(), "Kubernetes: the pod deadline was the manifest's timeout (exit 124)");
    }

    @Test
    void withoutARetryLeftOrAnAmountToGrowItIsAPlainRetryOrAFailure() {
        assertEquals(Kind.FAIL, decide("OUT_OF_MEMORY", 137, task(1, 1, 0), Escalate.DEFAULT).kind());
        Decision noMem = settlement.decide(new Outcome(137, "OUT_OF_MEMORY", "oom", Cause.OUT_OF_MEMORY), false,
                new Settlement.Task(JobResources.NONE, 0, 1, 0), Escalate.DEFAULT);
        assertEquals(Kind.RETRY, noMem.kind(), "no mem to multiply: the cluster's default again");
        assertTrue(noMem.reason().contains("no mem was asked for, so escalate cannot grow it; give jobResources mem"),
                noMem.reason());
        assertEquals(Kind.RETRY, decide("OUT_OF_MEMORY", 137, task(0, 1, 0), new Escalate(1, 1, 0, 0)).kind());
    }

    @Test
    void nodeFailuresAndPreemptionRunAgainFreeUpToTheBound() {
        for (String state : new String[]{"NODE_FAIL", "BOOT_FAIL", "PREEMPTED", "DisruptionTarget"}) {
            assertEquals(Kind.RERUN, decide(state, 0, task(0, 0, 4), Escalate.DEFAULT).kind(), state);
        }
        Decision bound = decide("NODE_FAIL", 0, task(0, 0, 5), Escalate.DEFAULT);
        assertEquals(Kind.FAIL, bound.kind());
        assertTrue(bound.reason().contains("5 reruns"), bound.reason());
        assertEquals(Kind.RETRY, decide("NODE_FAIL", 0, task(0, 1, 5), Escalate.DEFAULT).kind(),
                "beyond the bound it is an ordinary failure: retried while retries last");
    }

    @Test
    void successCancelAndPlainFailures() {
        assertEquals(Kind.SUCCEED, settlement.decide(new Outcome(0, "COMPLETED", null, Cause.EXIT), false,
                task(0, 0, 0), Escalate.DEFAULT).kind());
        assertEquals(Kind.CANCEL, settlement.decide(new Outcome(1, "FAILED", null, Cause.EXIT), true,
                task(0, 3, 0), Escalate.DEFAULT).kind());
        assertEquals(Kind.RETRY, decide("FAILED", 3, task(0, 1, 0), Escalate.DEFAULT).kind());
        assertEquals(Kind.FAIL, decide("FAILED", 3, task(1, 1, 0), Escalate.DEFAULT).kind());
    }
}
