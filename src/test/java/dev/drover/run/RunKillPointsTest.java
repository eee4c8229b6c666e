package dev.drover.run;

import dev.drover.manifest.ManifestException;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A kill can land anywhere while {@link RunRegistry#accept} makes a run directory, before the intake acknowledges
 * its manifest; the restarted drover then gets the manifest again (a redelivered message, a file left in the inbox).
 * For every point (each file of the directory in the order it is written, cut at its start, in its middle, one byte
 * short, whole): the restart comes up, and the manifest makes exactly one run: the recorded one when its journal
 * line was whole, a new one otherwise, and the same one when it arrives yet again. A folder the kill left half made
 * is never taken for the earlier run (it would be read, fail, and the message be rolled back without end).
 */
class RunKillPointsTest {

    @TempDir
    Path tmp;

    private static RunPlan plan() {
        return RunPlan.resolve(ManifestReader.parse("name: a\ntasks:\n  - {id: t, command: [echo, a]}\n"),
                new RunOptions("sequential", null, null));
    }

    /** How the directory looked at one kill point: these files, in the order accept writes them, the last cut. */
    private record KillPoint(String file, int length, boolean whole) {
    }

    @Test
    void aManifestAcceptedAgainAfterAKillAnywhereInItsAcceptanceRunsOnce() throws Exception {
        Run recorded = new RunRegistry(tmp.resolve("template")).accept(plan(), true);
        List<String> order = List.of("manifest.yaml", RunRegistry.PLAN_FILE, "." + Journal.FILE + ".new", Journal.FILE);
        byte[] journal = Files.readAllBytes(recorded.dir().resolve(Journal.FILE));
        List<KillPoint> points = new ArrayList<>();
        points.add(new KillPoint(null, 0, false)); // the folder made, nothing in it
        for (String file : order) {
            int size = file.contains(Journal.FILE) ? journal.length
                    : (int) Files.size(recorded.dir().resolve(file));
            for (int length : new int[]{0, size / 2, size - 1, size}) {
                points.add(new KillPoint(file, length, length == size));
            }
        }
        for (KillPoint point : points) {
            Path runs = tmp.resolve("case-" + points.indexOf(point));
            Path dir = Files.createDirectories(runs.resolve(recorded.id()).resolve("logs")).getParent();
            for (String file : order.subList(0, point.file() == null ? 0 : order.indexOf(point.file()) + 1)) {
                byte[] bytes = file.contains(Journal.FILE) ? journal : Files.readAllBytes(recorded.dir().resolve(file));
                int length = file.equals(point.file()) ? point.length() : bytes.length;
                if (!file.startsWith(".") || file.equals(point.file())) { // the temporary journal is renamed
                    Files.write(dir.resolve(file), Arrays.copyOf(bytes, length));
                }
            }
            boolean wasRun = Journal.FILE.equals(point.file()) && point.whole();

            RunRegistry restarted = new RunRegistry(runs);
            List<Run> recovered = restarted.recoverUnfinished();
            Run run = restarted.accept(plan(), true);

            String where = "killed with " + point + ": ";
            assertEquals(wasRun ? 1 : 0, recovered.size(), where + "recovered " + recovered);
            if (wasRun) {
                assertEquals(recorded.id(), run.id(), where + "the recorded run, not a second one");
            } else {
                assertNotEquals(recorded.id(), run.id(), where + "a new run: the manifest was never acknowledged");
            }
            assertSame(run, restarted.accept(plan(), true), where + "the manifest once more");
            assertEquals(1, runsIn(runs), where + "one run in " + runs);
        }
    }

    @Test
    void anEarlierRunThatCannotBeReadRefusesTheManifestWithWhereToLook() throws Exception {
        Path runs = tmp.resolve("runs");
        Run recorded = new RunRegistry(runs).accept(plan(), true);
        Path dir = tmp.resolve("damaged").resolve(recorded.id());
        Files.createDirectories(dir);
        for (String file : List.of("manifest.yaml", RunRegistry.PLAN_FILE)) {
            Files.copy(recorded.dir().resolve(file), dir.resolve(file));
        }
        Files.writeString(dir.resolve(Journal.FILE), "not a journal line\n");
        RunRegistry restarted = new RunRegistry(dir.getParent());
        assertEquals(List.of(), restarted.recoverUnfinished());
        ManifestException refused = assertThrows(ManifestException.class, () -> restarted.accept(plan(), true));
        assertTrue(refused.getMessage().contains("was accepted before as run " + recorded.id())
                && refused.getMessage().contains("repair or move away " + dir), refused.getMessage());
    }

    /** Run directories by the registry's rule (plan.json and a journal line). */
    private static long runsIn(Path runs) throws Exception {
        try (Stream<Path> dirs = Files.list(runs)) {
            return dirs.filter(dir -> Recovery.peek(dir, null) != null).count();
        }
    }
}
