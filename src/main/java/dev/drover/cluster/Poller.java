package dev.drover.cluster;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The poll loop of one run on the {@link ClusterScheduler}: one cycle at a time; the next after a delay that backs
 * off while nothing happens. {@link #wake} runs the next cycle now (a new job to follow, a cancel).
 */
public final class Poller {

    private static final Logger LOG = LoggerFactory.getLogger(Poller.class);

    private final String name;
    private final ScheduledExecutorService executor;
    private final BooleanSupplier cycle;
    private final long initial;
    private final long max;
    private long delay;
    private boolean running;
    private boolean woken;
    private boolean stopped;
    private ScheduledFuture<?> next;

    Poller(String name, ScheduledExecutorService executor, BooleanSupplier cycle, long initial, long max) {
        this.name = name;
        this.executor = executor;
        this.cycle = cycle;
        this.initial = initial;
        this.max = Math.max(initial, max);
        this.delay = initial;
    }

    /** Schedules the first cycle after the initial delay. */
    public synchronized Poller start() {
        schedule(initial);
        return this;
    }

    /** The next cycle now, or right after the one under way; the delay starts again from the initial one. */
    public synchronized void wake() {
        if (stopped) {
            return;
        }
        delay = initial;
        if (running) {
            woken = true;
        } else {
            schedule(0);
        }
    }

    /** No more cycles (the one under way finishes). */
    public synchronized void stop() {
        stopped = true;
        if (next != null) {
            next.cancel(false);
        }
    }

    private void schedule(long millis) {
        if (next != null) {
            next.cancel(false);
        }
        try {
            next = executor.schedule(this::runCycle, millis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            stopped = true; // Camel is stopping: what is left is for the next start
        }
    }

    private void runCycle() {
        synchronized (this) {
            if (stopped || running) {
                return;
            }
            running = true;
            woken = false;
        }
        boolean progress = false;
        try {
            progress = cycle.getAsBoolean();
        } catch (RuntimeException e) {
            LOG.warn("{}: poll cycle failed: {}", name, e.toString());
        }
        synchronized (this) {
            running = false;
            if (stopped) {
                return;
            }
            delay = progress || woken ? initial : Math.min(Math.max(delay * 2, 1), max);
            schedule(woken ? 0 : delay);
        }
    }
}
