package dev.drover.slurm;

import dev.drover.manifest.ManifestReader;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import dev.drover.manifest.TaskSpec;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import dev.drover.run.TaskState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tracker's poll cycle without a cluster: a scripted squeue (a shell script printing what the simulated cluster
 * holds) and a counting view of the exit records. The file-system cost of a cycle must follow the elements that run or
 * end, never the tasks that are pending: the run directory lives on a shared filesystem.
 */
class SlurmTrackerTest {

    static final int RUNNING_AT_ONCE = 16;

    @TempDir
    Path tmp;

    /** A cluster that runs {@link #RUNNING_AT_ONCE} elements at a time, in submission order; every task exits 0. */
    final class SimulatedCluster {
        final List<ArrayJob> arrays = new ArrayList<>();
        final List<String> jobIds = new ArrayList<>();
        final Map<String, String> states = new HashMap<>(); // "jobId_e" -> PENDING / RUNNING; absent when ended
        final Map<Path, Map<Integer, Map<Integer, ExitRecords.Exit>>> exitRecords = new HashMap<>(); // dir, element
        final Path squeueOutput = tmp.resolve("squeue.out");
        int listings;
        int reads;
        final Map<Path, Set<Integer>> readOnce = new HashMap<>();

        final ExitRecords records = new ExitRecords() {
            @Override
            public Set<Integer> written(Path dir) {
                listings++;
                return new HashSet<>(exitRecords.getOrDefault(dir, Map.of()).keySet());
            }

            @Override
            public Map<Integer, ExitRecords.Exit> read(Path dir, int element) {
                reads++;
                assertTrue(readOnce.computeIfAbsent(dir, d -> new HashSet<>()).add(element),
                        "exit record of element " + element + " read again after all its tasks had ended");
                return exitRecords.getOrDefault(dir, Map.of()).getOrDefault(element, Map.of());
            }
        };

        void submit(ArrayJob job, String jobId) {
            arrays.add(job);
            jobIds.add(jobId);
            for (int e = 0; e < job.elements().size(); e++) {
                states.put(jobId + "_" + e, "PENDING");
            }
        }

        /** One step of time: the running elements end (their exit records appear), then pending ones start. */
        void step() throws IOException {
            int running = 0;
            for (int a = 0; a < arrays.size(); a++) {
                for (int e = 0; e < arrays.get(a).elements().size(); e++) {
                    String key = jobIds.get(a) + "_" + e;
                    String state = states.get(key);
                    if ("RUNNING".equals(state)) {
                        states.remove(key);
                        Map<Integer, ExitRecords.Exit> record = exitRecords
                                .computeIfAbsent(arrays.get(a).dir(), d -> new HashMap<>())
                                .computeIfAbsent(e, element -> new HashMap<>());
                        for (TaskSpec task : arrays.get(a).elements().get(e)) {
                            record.put(task.index(), new ExitRecords.Exit(0, null));
                        }
                    } else if ("PENDING".equals(state) && running < RUNNING_AT_ONCE) {
                        states.put(key, "RUNNING");
                        running++;
                    }
                }
            }
            writeSqueue();
        }

        void writeSqueue() throws IOException {
            StringBuilder out = new StringBuilder();
            states.forEach((key, state) -> {
                int cut = key.indexOf('_');
                out.append(key, 0, cut).append('|').append(key.substring(cut + 1)).append('|').append(state)
                        .append("|None\n");
            });
            Files.writeString(squeueOutput, out);
        }
    }

    @Test
    void aCycleLooksAtRunningAndEndedElementsNeverAtPendingOnes() throws Exception {
        // 10,000 tasks in ten 1000-element arrays, 16 running at a time
        assertCostFollowsRunningElements(10_000, 1000, 1);
    }

    @Test
    void batchedElementsCostOneListingPerArrayAndOneReadPerEndedElement() throws Exception {
        // slurm+batching shape: 50 tasks per element
        assertCostFollowsRunningElements(5_000, 20, 50);
    }

    private void assertCostFollowsRunningElements(int tasks, int elementsPerArray, int tasksPerElement)
            throws Exception {
        Run run = new RunRegistry(tmp.resolve("runs")).accept(RunPlan.resolve(ManifestReader.parse("""
                name: tracked
                strategy: slurm
                jobResources: {time: "10:00"}
                command: ['true', '{index}']
                range: {start: 0, end: %d}
                """.formatted(tasks)), RunOptions.NONE));
        SimulatedCluster cluster = new SimulatedCluster();
        SlurmTracker tracker = new SlurmTracker(run,
                dev.drover.cluster.ClusterBackend.Settler.of(run, new dev.drover.cluster.Settlement(5), retried -> { }),
                settings(cluster.squeueOutput), new SlurmCommands(
                Duration.ofSeconds(30), new SimpleMeterRegistry()), null, cluster.records, System::currentTimeMillis, false);
        int arrays = tasks / (elementsPerArray * tasksPerElement);
        int next = 0;
        for (int a = 0; a < arrays; a++) {
            List<List<TaskSpec>> elements = new ArrayList<>();
            String jobId = Integer.toString(1000 + a);
            for (int e = 0; e < elementsPerArray; e++) {
                List<TaskSpec> element = new ArrayList<>();
                for (int p = 0; p < tasksPerElement; p++) {
                    TaskSpec task = run.plan().manifest().tasks().task(next++);
                    run.taskStarted(task.index(), 1);
                    run.taskBackend(task.index(), jobId + "_" + e, "PENDING");
                    element.add(task);
                }
                elements.add(element);
            }
            ArrayJob job = new ArrayJob(run.id(), "a%04d".formatted(a + 1), tmp.resolve("a" + a), elements, 1, 0);
            cluster.submit(job, jobId);
            tracker.add(job, jobId);
        }
        cluster.writeSqueue();

        // arrays squeue has not seen yet are listed (once each); then everything is pending and nothing is looked at
        tracker.cycle();
        assertEquals(arrays, cluster.listings);
        int before = cluster.listings + cluster.reads;
        tracker.cycle();
        assertEquals(before, cluster.listings + cluster.reads, "a cycle with only pending elements touched files");

        int worst = 0;
        int cycles = 0;
        while (run.done() < tasks) {
            assertTrue(++cycles < tasks, "the run does not end");
            cluster.step();
            int ops = cluster.listings + cluster.reads;
            tracker.cycle();
            worst = Math.max(worst, cluster.listings + cluster.reads - ops);
        }
        assertEquals(tasks, run.count(TaskState.SUCCEEDED));
        assertEquals(tasks / tasksPerElement, cluster.reads, "each element's exit record is read exactly once");
        // at most one listing per array with a running element, plus one read per element that ended in the step
        int bound = RUNNING_AT_ONCE + 2;
        assertTrue(worst <= bound, "a cycle cost " + worst + " file operations; the bound is " + bound
                + " (and the run has " + tasks + " tasks)");
    }

    /** squeue is a script that prints the simulated cluster; scontrol/sacct are never needed (no task vanishes). */
    private SlurmSettings settings(Path squeueOutput) throws IOException {
        Path squeue = tmp.resolve("squeue");
        Files.writeString(squeue, "#!/bin/sh\ncat '" + squeueOutput + "'\n");
        assertTrue(squeue.toFile().setExecutable(true));
        return new SlurmSettings(squeue.toString(), "false", "false", "false", 0, Duration.ofSeconds(1),
                Duration.ofSeconds(30), Duration.ZERO, Duration.ofHours(1), Duration.ofSeconds(1),
                Duration.ofSeconds(60), 10, Duration.ofSeconds(30), "auto");
    }
}
