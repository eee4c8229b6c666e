package dev.drover.serve;

import org.apache.camel.CamelContext;
import org.apache.camel.Processor;
import org.apache.camel.processor.ThreadsProcessor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.stream.Stream;

/**
 * Manifests waiting in the drop folder: the files the intake-file route would take, less those whose runs it is
 * running (a manifest stays in the folder until its run ends). Counted when scraped: one directory listing.
 */
final class InboxWaiting {

    /** The id of the threads step of intake-file: one busy thread per manifest being run. */
    static final String RUNS_STEP = "intake-file-runs";

    private final CamelContext context;
    private final Path dir;

    InboxWaiting(CamelContext context, Path dir) {
        this.context = context;
        this.dir = dir;
    }

    /** The waiting manifests, or NaN if the folder cannot be read. */
    double count() {
        long files;
        try (Stream<Path> entries = Files.list(dir)) {
            files = entries.filter(InboxWaiting::isManifest).count();
        } catch (IOException e) {
            return Double.NaN;
        }
        return Math.max(0, files - running());
    }

    private static boolean isManifest(Path file) {
        String name = file.getFileName().toString();
        return !name.startsWith(".") && InboxEntries.MANIFEST.matcher(name).matches()
                && Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS);
    }

    private int running() {
        Processor step = context.getProcessor(RUNS_STEP);
        if (step instanceof ThreadsProcessor threads && threads.getExecutorService() instanceof ThreadPoolExecutor pool) {
            return pool.getActiveCount();
        }
        return 0;
    }
}
