package dev.drover.run;

import dev.drover.Await;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The registry's periodic work runs on the scheduler its owner gives it, and on no thread of its own. */
class RunRegistryThreadsTest {

    @TempDir
    Path tmp;

    private static Run accept(RunRegistry registry) {
        return registry.accept(RunPlan.resolve(ManifestReader.parse("""
                name: threads
                command: [echo, '{item}']
                range: {start: 0, end: 2}
                """), new RunOptions("sequential", null, null)));
    }

    private static Set<String> droverThreads() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(name -> name.startsWith("drover")).collect(Collectors.toSet());
    }

    @Test
    void aRegistryAndItsJournalsStartNoThread() {
        Set<String> before = droverThreads();
        Run run = accept(new RunRegistry(tmp));
        run.taskStarted(0, 1);
        assertEquals(before, droverThreads());
        run.cancel();
    }

    @Test
    void onceStartedACancelRequestCancelsTheRun() throws Exception {
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
        try {
            RunRegistry registry = new RunRegistry(tmp);
            registry.start(scheduler);
            Run run = accept(registry);
            Files.createFile(run.dir().resolve(RunRegistry.CANCEL_REQUEST));
            Await.until("the cancel request is noticed", Duration.ofSeconds(10), () -> run.finished().isDone());
            assertEquals(RunState.CANCELLED, run.finished().get());
        } finally {
            scheduler.shutdownNow();
        }
    }
}
