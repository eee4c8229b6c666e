package dev.drover.local;

import dev.drover.run.Run;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.TemplatedRouteBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;

/**
 * The multiprocessing lanes: SEDA queues made from the {@code lane-multiprocessing} route template, each with exactly
 * --jobs concurrent consumers. A run holds a lane of its own from acceptance to its end, so that runs served side by
 * side each keep their own limit. A lane whose run has ended is kept idle for the next run with the same --jobs:
 * making a route and stopping it cost about 100 ms, which a queue that starts many short runs a second cannot
 * afford. At most {@link #IDLE_PER_JOBS} idle lanes are kept per --jobs value and {@link #IDLE_MAX} in all (each
 * holds --jobs idle consumer threads); others are removed.
 */
public final class LocalLanes {

    private static final Logger LOG = LoggerFactory.getLogger(LocalLanes.class);
    public static final String TEMPLATE = "lane-multiprocessing";
    static final int IDLE_PER_JOBS = 4;
    static final int IDLE_MAX = 16;

    private final CamelContext context;
    private final ExecutorService closer;
    private final Map<String, String> laneOfRun = new HashMap<>();
    private final Map<Integer, Deque<String>> idle = new HashMap<>();
    private int made;

    public LocalLanes(CamelContext context) {
        this.context = context;
        this.closer = context.getExecutorServiceManager().newSingleThreadExecutor(this, "drover-lane-closer");
    }

    /**
     * The lane of the run: the name of the SEDA queue its batches go to (the accept route puts it in the DroverLane
     * header for dispatch). A recovered run submitted again by its intake keeps the lane it has.
     */
    public synchronized String open(Run run) {
        String lane = laneOfRun.get(run.id());
        if (lane != null || run.finished().isDone()) {
            return lane; // a finished run has no batches left to dispatch
        }
        int jobs = run.plan().jobs();
        Deque<String> waiting = idle.get(jobs);
        lane = waiting == null ? null : waiting.poll();
        if (lane == null) {
            lane = TEMPLATE + "-" + (++made);
            TemplatedRouteBuilder.builder(context, TEMPLATE)
                    .routeId(lane)
                    .parameter("lane", lane)
                    .parameter("jobs", Integer.toString(jobs))
                    .add();
        }
        laneOfRun.put(run.id(), lane);
        String held = lane;
        // The lane's own consumer threads finish the run: the lane is handed back, never stopped, from there.
        run.onFinish(() -> release(run.id(), held, jobs));
        return lane;
    }

    /** Stops removing lanes; called before the context stops, which removes whatever lanes are left. */
    public void shutdown() throws InterruptedException {
        closer.shutdown();
        closer.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
    }

    /**
     * A run has ended: its lane waits for the next run with the same --jobs, or is removed. Batches of the ended run
     * still queued there (a cancel) are dropped by the runner, which finds no such run.
     */
    private synchronized void release(String runId, String lane, int jobs) {
        laneOfRun.remove(runId);
        Deque<String> waiting = idle.computeIfAbsent(jobs, j -> new ArrayDeque<>());
        if (waiting.size() < IDLE_PER_JOBS && idle.values().stream().mapToInt(Deque::size).sum() < IDLE_MAX) {
            waiting.push(lane);
            return;
        }
        try {
            closer.execute(() -> close(lane));
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            // drover is stopping: the context removes the lane
        }
    }

    /** Under the same lock as {@link #open}: Camel's route registry is not safe for concurrent add and remove. */
    private synchronized void close(String routeId) {
        try {
            if (context.getStatus().isStarted()) {
                context.getRouteController().stopRoute(routeId);
                context.removeRoute(routeId);
            }
        } catch (Exception e) {
            LOG.warn("cannot remove lane {}: {}", routeId, e.getMessage());
        }
    }
}
