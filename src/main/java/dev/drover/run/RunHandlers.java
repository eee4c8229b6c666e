package dev.drover.run;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** What the lanes and intakes asked to be told when a run is cancelled or finishes. */
final class RunHandlers {

    private static final Logger LOG = LoggerFactory.getLogger(RunHandlers.class);

    private final List<Runnable> cancelHandlers = new CopyOnWriteArrayList<>();
    private final List<Runnable> finishHandlers = new CopyOnWriteArrayList<>();

    void onCancel(Runnable handler) {
        cancelHandlers.add(handler);
    }

    /** Keeps the handler for {@link #finished()}, or runs it at once if the run has already finished. */
    void onFinish(Runnable handler, boolean alreadyFinished) {
        finishHandlers.add(handler);
        if (alreadyFinished && finishHandlers.remove(handler)) {
            runQuietly(handler);
        }
    }

    void cancelled() {
        cancelHandlers.forEach(RunHandlers::runQuietly);
    }

    /** Called once the run's future is complete. */
    void finished() {
        // Each handler is claimed by removing it, here or in onFinish, so that it runs exactly once.
        for (Runnable handler : finishHandlers) {
            if (finishHandlers.remove(handler)) {
                runQuietly(handler);
            }
        }
    }

    private static void runQuietly(Runnable handler) {
        try {
            handler.run();
        } catch (RuntimeException e) {
            LOG.warn("run handler failed", e);
        }
    }
}
