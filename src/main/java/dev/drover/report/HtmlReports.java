package dev.drover.report;

import dev.drover.run.Run;
import dev.drover.run.RunRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Writes report.html beside report.json when each run of the registry finishes, on a thread of its own (a large
 * run's page takes a second or so, which must not hold up the thread that ended its last task). Stopping waits for
 * the pages still being written, so that `drover run` does not exit before its run's page is there.
 */
public final class HtmlReports extends ServiceSupport {

    private static final Logger LOG = LoggerFactory.getLogger(HtmlReports.class);
    private static final long STOP_WAIT_SECONDS = 60;

    private final ExecutorService writer;
    /** By run id: the pages of the runs followed, until written. */
    private final Map<String, Page> pending = new ConcurrentHashMap<>();

    private record Page(CompletableFuture<?> runFinished, CompletableFuture<Void> written) {
    }

    private HtmlReports(CamelContext context, RunRegistry runs) {
        // Camel's thread, shut down with the context (after doStop has waited for the pages due)
        this.writer = context.getExecutorServiceManager().newSingleThreadExecutor(this, "drover-html-report");
        runs.onAccepted(this::follow);
        runs.onRecovered(this::follow);
    }

    /** Follows the registry's runs from now on; stopped (waiting for pages being written) with the context. */
    public static void attach(CamelContext context, RunRegistry runs) {
        try {
            context.addService(new HtmlReports(context, runs), true, true);
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the HTML report writer", e);
        }
    }

    private void follow(Run run) {
        CompletableFuture<Void> written = new CompletableFuture<>();
        Page page = new Page(run.finished(), written);
        pending.put(run.id(), page);
        // The page is written from the run's files: the run itself (its per-task state, ~45 bytes a task) is not
        // held meanwhile, so that a large run's state can go while its page reads tasks.jsonl back.
        String id = run.id();
        java.nio.file.Path dir = run.dir();
        Runnable write = () -> {
            try {
                HtmlReport.write(dir, null);
            } catch (Exception | OutOfMemoryError e) {
                LOG.warn("run {}: cannot write {} ({}); drover report {} writes it", id, HtmlReport.FILE, e, id);
            } finally {
                pending.remove(id, page);
                written.complete(null);
            }
        };
        run.onFinish(() -> {
            try {
                writer.execute(write);
            } catch (RejectedExecutionException stopping) {
                write.run(); // a run that ends while drover stops (serve --cancel-on-exit): written here and now
            }
        });
    }

    @Override
    protected void doStop() throws Exception {
        // A run that has finished may not have handed its page to the writer yet (its finish handlers run after
        // `drover run` sees the end): wait for those; runs still going (serve stopping) are not waited for.
        CompletableFuture<?>[] due = pending.values().stream().filter(page -> page.runFinished().isDone())
                .map(Page::written).toArray(CompletableFuture<?>[]::new);
        try {
            CompletableFuture.allOf(due).get(STOP_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            LOG.warn("{} report.html pages were not written within {} s", due.length, STOP_WAIT_SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writer.shutdown();
    }
}
