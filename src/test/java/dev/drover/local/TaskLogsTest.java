package dev.drover.local;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.Await;
import dev.drover.PipelineExtension;
import dev.drover.TestPipeline;
import dev.drover.plan.RunOptions;
import dev.drover.run.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Local task output: files grow with slots, not tasks, and each task's output stays readable on its own. */
class TaskLogsTest {

    @RegisterExtension
    static final PipelineExtension pipeline = new PipelineExtension();
    @TempDir
    Path work;

    @Test
    void tenThousandTasksLeaveFilesOnlyForThoseThatPrinted() throws Exception {
        StringBuilder manifest = new StringBuilder("name: many\nretries: 1\ntasks:\n");
        for (int i = 0; i < 10_000; i++) {
            String command = switch (i) {
                case 17, 9_998 -> "[sh, -c, 'echo out " + i + "; echo err " + i + " >&2']";
                case 4_242 -> "[sh, -c, 'echo failing >&2; exit 3']";
                case 5_000 -> "[no-such-program-" + i + "]";
                default -> "[true]";
            };
            manifest.append("  - command: ").append(command).append('\n');
        }
        Run run = pipeline.start(manifest.toString(), new RunOptions("multiprocessing", 4, null));
        run.finished().get(15, TimeUnit.MINUTES);
        JsonNode report = TestPipeline.report(run.dir());
        assertEquals(9_998, report.path("counts").path("succeeded").asInt(), report.path("counts").toString());

        List<Path> files;
        try (Stream<Path> all = Files.walk(run.dir())) {
            files = all.filter(Files::isRegularFile).toList();
        }
        List<String> logs = files.stream().filter(f -> f.getParent().equals(run.dir().resolve("logs")))
                .map(f -> f.getFileName().toString()).sorted().toList();
        assertEquals(List.of("0017.log", "4242.log", "5000.log", "9998.log"), logs, "a log only where there is output");
        assertTrue(files.size() <= logs.size() + 10, "a handful of run files besides the logs: " + files);
        assertFalse(Files.exists(run.dir().resolve("logs").resolve(dev.drover.run.Run.RUNNING_LOGS)), "the slots go with the run");

        Path logDir = run.dir().resolve("logs");
        assertEquals("out 17\nerr 17\n", Files.readString(logDir.resolve("0017.log")));
        String failing = Files.readString(logDir.resolve("4242.log"));
        assertTrue(failing.matches("failing\n--- drover: attempt 1 failed \\(exit code 3\\), retrying ---\nfailing\n"),
                "both attempts, in order: " + failing);
        assertTrue(Files.readString(logDir.resolve("5000.log")).contains("cannot start no-such-program-5000"));
        assertEquals("logs/0017.log", report.path("tasks").get(17).path("log").asText());
    }

    @Test
    void aRunningTasksOutputSoFarIsFoundThroughItsSlot() throws Exception {
        Path go = work.resolve("go");
        Run run = pipeline.start("""
                name: live
                tasks:
                  - id: quiet
                    command: [true]
                  - id: talker
                    command: [sh, -c, 'echo started; while [ ! -e %s ]; do sleep 0.05; done; echo done']
                """.formatted(go), new RunOptions("multiprocessing", 2, null));
        Path slot = Await.value("talker's output in its slot", Duration.ofSeconds(60), () -> {
            Path found = TaskLogs.find(run.dir(), "talker");
            return found != null && Files.readString(found).equals("started\n") ? found : null;
        });
        assertEquals(run.dir().resolve("logs").resolve(dev.drover.run.Run.RUNNING_LOGS), slot.getParent());
        assertTrue(TaskLogs.stillRuns(slot, "talker"));
        assertFalse(TaskLogs.stillRuns(slot, "quiet"));
        Files.createFile(go);
        run.finished().get(60, TimeUnit.SECONDS);
        Path ended = TaskLogs.find(run.dir(), "talker");
        assertEquals(run.dir().resolve("logs/talker.log"), ended);
        assertEquals("started\ndone\n", Files.readString(ended));
        // the slots are emptied by the run's finish handlers, which run just after finished() completes
        Await.until("a task that printed nothing has no log once the run's slots are gone", Duration.ofSeconds(10),
                () -> TaskLogs.find(run.dir(), "quiet") == null);
    }

    @Test
    void outputACrashedDroverLeftInItsSlotsGoesToTheirTasksBeforeTheRunGoesOn() throws Exception {
        Run run = new dev.drover.run.RunRegistry(work).accept(dev.drover.plan.RunPlan.resolve(
                dev.drover.manifest.ManifestReader.parse("name: crashed\ntasks:\n  - {id: a, command: ['true']}\n"
                        + "  - {id: b, command: ['true']}\n"), new RunOptions("multiprocessing", 2, null)));
        Path running = run.dir().resolve("logs").resolve(dev.drover.run.Run.RUNNING_LOGS);
        Files.createDirectories(running);
        Files.writeString(running.resolve("0.task"), "a\n");
        Files.writeString(running.resolve("0.log"), "attempt 1 of a, cut short\n");
        Files.writeString(running.resolve("1.task"), "b\n");
        Files.writeString(running.resolve("1.log"), "");
        Files.writeString(run.dir().resolve("logs/b.log"), "b's first attempt\n");
        TaskLogs logs = new TaskLogs(run);
        assertEquals("attempt 1 of a, cut short\n", Files.readString(run.dir().resolve("logs/a.log")));
        assertEquals("b's first attempt\n", Files.readString(run.dir().resolve("logs/b.log")), "nothing to add");
        assertFalse(Files.exists(running.resolve("0.task")), "no slot names a task it no longer holds");
        assertEquals(run.dir().resolve("logs/a.log"), TaskLogs.find(run.dir(), "a"));
        TaskLogs.Slot slot = logs.acquire(run.plan().manifest().tasks().task(0));
        Files.writeString(slot.log().toPath(), "attempt 2 of a\n");
        slot.release(run.plan().manifest().tasks().task(0));
        assertEquals("attempt 1 of a, cut short\nattempt 2 of a\n", Files.readString(run.dir().resolve("logs/a.log")));
    }
}
