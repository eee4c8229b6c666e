package dev.drover.serve;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a crash can leave in an outbox, read back at the next start. */
class EventOutboxTest {

    @TempDir
    Path runs;

    private Path write(String runId, String jsonl, String sent) throws Exception {
        Path dir = Files.createDirectories(runs.resolve(EventOutbox.DIR));
        Files.writeString(dir.resolve(runId + ".jsonl"), jsonl);
        if (sent != null) {
            Files.writeString(dir.resolve(runId + ".sent"), sent);
        }
        return dir.resolve(runId + ".jsonl");
    }

    private static String line(long seq, String type) {
        return "{\"eventId\":\"r/" + seq + "\",\"seq\":" + seq + ",\"event\":\"" + type + "\",\"runId\":\"r\"}\n";
    }

    @Test
    void aLineCutShortIsRemovedAndTheSentOnesAreNotSentAgain() throws Exception {
        Path file = write("r", line(1, "run-accepted") + line(2, "task-finished") + line(3, "task-finished")
                + "{\"eventId\":\"r/4\",\"se", "2");
        Map<EventOutbox.Box, List<EventOutbox.Event>> owed = new EventOutbox(runs).load(t -> t.startsWith("task"));
        List<EventOutbox.Event> unsent = owed.values().iterator().next();
        assertEquals(List.of(3L), unsent.stream().map(EventOutbox.Event::seq).toList());
        assertTrue(unsent.get(0).droppable());
        EventOutbox.Box box = owed.keySet().iterator().next();
        assertEquals(4, box.nextSeq(), "numbering goes on after the last whole line");
        assertFalse(box.finishedWritten());
        assertTrue(Files.readString(file).endsWith("}\n"), "the cut line is gone");
    }

    @Test
    void aSentMarkACrashLeftEmptySendsEverythingAgainAndAnUnreadableLineIsSkipped() throws Exception {
        write("r", line(1, "run-accepted") + "not json\n" + line(2, "run-finished"), "");
        List<EventOutbox.Event> unsent = new EventOutbox(runs).load(t -> false).values().iterator().next();
        assertEquals(List.of("run-accepted", "run-finished"), unsent.stream().map(EventOutbox.Event::type).toList());
    }

    @Test
    void whenEverythingIsSentAFinishedRunsFilesAreDeleted() throws Exception {
        Path file = write("r", line(1, "run-accepted") + line(2, "run-finished"), null);
        Map<EventOutbox.Box, List<EventOutbox.Event>> owed = new EventOutbox(runs).load(t -> false);
        EventOutbox.Box box = owed.keySet().iterator().next();
        assertTrue(box.finishedWritten());
        assertFalse(box.sent(1));
        assertTrue(Files.exists(file));
        assertTrue(box.sent(2));
        assertFalse(Files.exists(file));
        assertFalse(Files.exists(file.resolveSibling("r.sent")));
    }
}
