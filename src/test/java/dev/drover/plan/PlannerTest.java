package dev.drover.plan;

import dev.drover.manifest.ManifestException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The intakes' planning step applies drover.manifest.max-bytes to manifest text (the queue's message, the drop
 * folder's file as InboxEntries read it: InboxIntakeTest drops one over the limit).
 */
class PlannerTest {

    private static final String MANIFEST = "name: p\ntasks: [{command: [\"true\"]}]\n";

    @Test
    void theSizeLimitAppliesToManifestText() {
        assertEquals("p", Planner.forInstalledLanes(MANIFEST.length()).plan(MANIFEST).manifest().name());
        Planner tight = Planner.forInstalledLanes(MANIFEST.length() - 1);
        ManifestException e = assertThrows(ManifestException.class, () -> tight.plan(MANIFEST));
        assertTrue(e.getMessage().contains("more than the limit of " + (MANIFEST.length() - 1)), e.getMessage());
    }
}
