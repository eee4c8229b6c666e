package dev.drover.run;

import dev.drover.manifest.ManifestException;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The duplicate check of {@link RunRegistry#accept(RunPlan, Boolean)} reads each run directory's manifest hash once
 * (RunDirectories): what it must still see are directories made after its first look-up, by this process or by
 * another one on the same runs directory, and directories removed by hand.
 */
class RunDirectoriesTest {

    @TempDir
    Path runs;

    private static RunPlan plan(String name) {
        return RunPlan.resolve(ManifestReader.parse("name: " + name + "\ntasks:\n  - {id: t, command: [echo, "
                + name + "]}\n"), new RunOptions("sequential", null, null));
    }

    @Test
    void aManifestAcceptedAgainGetsItsEarlierRunAfterOthersWereAccepted() {
        RunRegistry registry = new RunRegistry(runs);
        Run first = registry.accept(plan("a"), true);
        for (int i = 0; i < 20; i++) {
            registry.accept(plan("other-" + i), true);
        }
        assertSame(first, registry.accept(plan("a"), true));
    }

    @Test
    void aRunThatAnotherProcessMadeAfterTheFirstLookUpIsFound() {
        RunRegistry here = new RunRegistry(runs);
        here.accept(plan("mine"), true); // the runs directory is listed and its runs known
        RunRegistry elsewhere = new RunRegistry(runs);
        Run theirs = elsewhere.accept(plan("theirs"), true); // its journal stays locked: a live process has it
        ManifestException refused = assertThrows(ManifestException.class, () -> here.accept(plan("theirs"), true));
        assertTrue(refused.getMessage().contains("being run by another drover process as run " + theirs.id()),
                refused.getMessage());
    }

    @Test
    void aRunDirectoryRemovedByHandNoLongerCountsAsTheEarlierRun() throws Exception {
        RunRegistry registry = new RunRegistry(runs);
        Run first = registry.accept(plan("a"), true);
        first.cancel();
        assertEquals(RunState.CANCELLED, first.finished().get());
        try (Stream<Path> files = Files.walk(first.dir())) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
        Run again = registry.accept(plan("a"), true);
        assertNotEquals(first.id(), again.id());
        assertTrue(Files.isDirectory(again.dir()));
        assertSame(again, registry.accept(plan("a"), true));
    }

    @Test
    void recoverTakesOnlyARunOfTheRunsDirectoryByTheOneRule() throws Exception {
        Run run = new RunRegistry(runs).accept(plan("a"), true);
        run.cancel();
        run.finished().get();
        Files.createDirectories(runs.resolve(".events"));
        Files.writeString(runs.resolve("journal.log"), "");
        RunRegistry registry = new RunRegistry(runs.resolve(run.id()).resolve("logs"));
        for (String notARun : new String[] {"..", ".", "../" + run.id(), run.id() + "/logs", ".events", ""}) {
            assertNull(registry.recover(notARun), notARun);
        }
        assertEquals(run.id(), new RunRegistry(runs).recover(run.id()).id());
    }
}
