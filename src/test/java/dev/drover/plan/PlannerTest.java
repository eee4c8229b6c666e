package dev.drover.plan;

import dev.drover.manifest.ManifestException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The intakes' planning step applies drover.manifest.max-bytes to files (drop folder) and text (queue) alike. */
class PlannerTest {

    private static final String MANIFEST = "name: p\ntasks: [{command: [\"true\"]}]\n";

    @TempDir
    Path dir;

    @Test
    void theSizeLimitAppliesToDroppedFilesAndQueuedText() throws Exception {
        File dropped = Files.writeString(dir.resolve("p.yaml"), MANIFEST).toFile();
        Planner roomy = Planner.forInstalledLanes(MANIFEST.length());
        assertEquals("p", roomy.plan(dropped).manifest().name());
        assertEquals("p", roomy.plan(MANIFEST).manifest().name());
        Planner tight = Planner.forInstalledLanes(MANIFEST.length() - 1);
        for (Object body : new Object[]{dropped, MANIFEST}) {
            ManifestException e = assertThrows(ManifestException.class, () -> tight.plan(body));
            assertTrue(e.getMessage().contains("more than the limit of " + (MANIFEST.length() - 1)), e.getMessage());
        }
    }
}
