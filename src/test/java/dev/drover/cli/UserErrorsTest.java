package dev.drover.cli;

import dev.drover.cli.SubmitStatusCancelTest.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.drover.cli.SubmitStatusCancelTest.drover;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every mistake a user can make on the command line ends in a short message and exit 2, never a stack trace. */
class UserErrorsTest {

    @TempDir
    Path tmp;

    /** Exit 2, at most maxLines lines on stderr, and nothing that looks like a Java stack trace. */
    private static Result userError(int maxLines, String... args) {
        Result r = drover(args);
        String what = String.join(" ", args) + " ->\n" + r.err();
        assertEquals(2, r.exit(), what);
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception") || r.err().contains("Caused by"), what);
        assertTrue(r.err().lines().count() <= maxLines, what);
        assertTrue(r.err().startsWith("drover: "), what);
        return r;
    }

    private Path manifest(String text) throws Exception {
        return Files.writeString(tmp.resolve("m.yaml"), text);
    }

    @Test
    void badManifestsAndFlags() throws Exception {
        Path good = manifest("name: ok\ntasks: [{command: [\"true\"]}]\n");
        assertTrue(userError(1, "run", tmp.resolve("missing.yaml").toString()).err().contains("no such file"));
        assertTrue(userError(1, "validate", tmp.toString()).err().contains("not a regular file"));
        userError(1, "validate", Files.writeString(tmp.resolve("dup.yaml"), "name: a\nname: b\n").toString());
        userError(1, "validate", good.toString(), "--job-resources", "{\"mem\": \"1G\", \"mem\": \"2G\"}");
        userError(1, "submit", Files.writeString(tmp.resolve("no-tasks.json"), "{\"name\": \"a\"}").toString(),
                "--inbox", tmp.toString());
        for (String command : List.of("run", "validate")) {
            userError(1, command, good.toString(), "--distribution-strategy", "sequential", "--jobs", "2");
        }
    }

    @Test
    void anUnusableRunsDirectory() throws Exception {
        Path good = manifest("name: ok\ntasks: [{command: [\"true\"]}]\n");
        Path file = Files.writeString(tmp.resolve("a-file"), "");
        for (String runsDir : List.of("/proc/nope", file.toString(), file.resolve("below").toString())) {
            Result r = userError(1, "run", good.toString(), "--runs-dir", runsDir);
            assertTrue(r.err().startsWith("drover: --runs-dir: cannot use "), r.err());
        }
    }

    @Test
    void everyCommandAboutOneRunRefusesAnIdThatIsNoRunOfTheRunsDirectory() throws Exception {
        Path runs = Files.createDirectories(tmp.resolve("runs"));
        Files.createDirectories(runs.resolve(".events")); // the event outbox's folder: not a run
        Files.createDirectories(runs.resolve("stray")); // a folder without a journal: not a run
        Files.createDirectories(tmp.resolve("beside")).resolve(dev.drover.run.Journal.FILE).toFile().createNewFile();
        Files.createDirectories(runs.resolve("going")).resolve(dev.drover.run.Journal.FILE).toFile().createNewFile();
        for (String command : List.of("cancel", "logs", "report", "rerun", "resume", "status")) {
            for (String id : List.of("nope", ".", "..", "../beside", "going/..", ".events", "stray", "/tmp", "")) {
                Result r = userError(1, command, id, "--runs-dir", runs.toString());
                assertTrue(r.err().startsWith("drover: no run " + id + " in " + runs), r.err());
            }
        }
        for (String command : List.of("report", "rerun")) {
            String err = userError(1, command, "going", "--runs-dir", runs.toString()).err();
            assertTrue(err.startsWith("drover: run going has not finished"), err);
        }
        assertFalse(Files.exists(tmp.resolve("beside").resolve(dev.drover.run.RunRegistry.CANCEL_REQUEST)),
                "cancel reached beyond the runs");
    }

    @Test
    void missingOrUnknownArgumentsGiveTheSynopsisNotTheWholeHelp() {
        Result missing = userError(6, "run");
        assertTrue(missing.err().contains("Missing required parameter: 'MANIFEST'"), missing.err());
        assertTrue(missing.err().contains("Try 'drover run --help'"), missing.err());
        assertTrue(userError(6, "run", "m.yaml", "--jobz", "2").err().contains("--jobs"), "suggests the near option");
        userError(6, "validate", "m.yaml", "--runs-dir", "x");
        userError(6, "logs");
        userError(6, "nonsense");
        userError(2, "completion", "fish");
    }

    @Test
    void droverAloneIsAUsageErrorAndHelpWorksAsACommand() {
        Result alone = drover();
        assertEquals(2, alone.exit());
        assertTrue(alone.err().contains("run") && alone.err().contains("validate"), alone.err());
        Result help = drover("help", "run");
        assertEquals(0, help.exit(), help.err());
        assertTrue(help.out().contains("Usage: drover run"), help.out());
    }

    @Test
    void completionCoversCommandsOptionsAndRunIds() {
        Result bash = drover("completion", "bash");
        assertEquals(0, bash.exit(), bash.err());
        assertTrue(bash.out().contains("--job-resources") && bash.out().contains("logs"), "commands and options");
        assertTrue(bash.out().contains("journal.log") && bash.out().contains("complete -F _drover_runs_complete"),
                "run ids come from the runs directory");
    }

    @Test
    void aFailedRunNamesItsFailedTasksAndLogsShowsThem() throws Exception {
        Path m = manifest("name: f\ntasks:\n  - {id: bad, command: [sh, -c, 'echo working; echo \"no input\" >&2;"
                + " exit 3']}\n  - {id: fine, command: [\"true\"]}\n  - {id: worse, command: [sh, -c, 'exit 4']}\n");
        String runs = tmp.resolve("runs").toString();
        Result run = drover("run", m.toString(), "--runs-dir", runs);
        assertEquals(1, run.exit(), run.err());
        assertTrue(run.out().contains("  failed bad: no input (log "), run.out());
        assertTrue(run.out().contains("  failed worse: no output (log "), run.out());
        String runId;
        try (var dirs = Files.list(Path.of(runs))) {
            runId = dirs.findFirst().orElseThrow().getFileName().toString();
        }
        Result failed = drover("logs", runId, "--failed", "--runs-dir", runs);
        assertEquals(0, failed.exit(), failed.err());
        assertTrue(failed.out().contains("==> bad (FAILED)") && failed.out().contains("working\nno input\n"),
                failed.out());
        assertFalse(failed.out().contains("fine"), failed.out());
        // a run still going has no report yet: its journal says which tasks failed
        Files.delete(Path.of(runs, runId, "report.json"));
        assertEquals(failed.out(), drover("logs", runId, "--failed", "--runs-dir", runs).out());
        Result one = drover("logs", runId, "bad", "--runs-dir", runs);
        assertEquals("working\nno input\n", one.out());
        userError(1, "logs", runId, "../../etc/passwd", "--runs-dir", runs);
        userError(1, "logs", "../" + runId, "--runs-dir", runs);
    }
}
