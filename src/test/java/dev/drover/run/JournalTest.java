package dev.drover.run;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class JournalTest {

    @TempDir
    Path dir;

    private final Journals journals = new Journals();

    private static List<JournalEntry> entries(Path dir) {
        List<JournalEntry> entries = new ArrayList<>();
        Journal.forEachEntry(dir, entries::add);
        return entries;
    }

    /** As recovery reopens a run's journal: the line a crash cut short removed, ready for appending. */
    private Journal reopened(Journals owner) {
        Journal journal = owner.openUnended(dir);
        journal.endLineCutShort();
        return journal;
    }

    @Test
    void entriesAreWrittenAsTabSeparatedLinesAndReadBack() {
        JournalEntry accepted = new JournalEntry.Accepted(1, "run-1", "sequential", 2, JournalEntry.FORMAT);
        JournalEntry end = new JournalEntry.End(2, 0, 1, TaskState.FAILED, 3, "bad\tthing\nhere");
        try (Journal journal = reopened(journals)) {
            journal.appendAndSync(accepted);
            journal.append(end);
        }
        List<String[]> lines = Journal.read(dir);
        assertEquals(2, lines.size());
        assertArrayEquals(new String[]{"accepted", "1", "run-1", "sequential", "2", "2"}, lines.get(0));
        assertEquals("bad\\tthing\\nhere", lines.get(1)[6], "one line, one field, whatever the reason holds");
        assertEquals(List.of(accepted, end), entries(dir));
    }

    @Test
    void aLineCutShortByACrashIsIgnoredAndTheNextWriterStartsAFreshLine() throws Exception {
        try (Journal journal = reopened(journals)) {
            journal.append(new JournalEntry.Start(1, 0, 1, null));
        }
        Files.writeString(dir.resolve(Journal.FILE), "end\t2\t0", StandardOpenOption.APPEND);
        assertEquals(1, Journal.read(dir).size());
        try (Journal journal = reopened(journals)) {
            journal.append(new JournalEntry.Start(3, 1, 1, null));
        }
        assertEquals(List.of(new JournalEntry.Start(1, 0, 1, null), new JournalEntry.Start(3, 1, 1, null)),
                entries(dir), "the cut line is gone: no later reading can take it for a whole one");
    }

    @Test
    void aCharacterTheCrashCutInTwoIsReadAsAReplacement() throws Exception {
        try (Journal journal = reopened(journals)) {
            journal.append(new JournalEntry.End(1, 0, 1, TaskState.FAILED, 1, "caf\u00e9"));
        }
        byte[] cut = "end\t2\t1\t1\tFAILED\t1\tcaf\u00e9\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] broken = java.util.Arrays.copyOf(cut, cut.length - 1); // the first byte of é, then the newline
        broken[broken.length - 1] = '\n';
        Files.write(dir.resolve(Journal.FILE), broken, StandardOpenOption.APPEND);
        List<JournalEntry> entries = entries(dir);
        assertEquals(2, entries.size());
        assertEquals("caf\u00e9", ((JournalEntry.End) entries.get(0)).reason());
        assertEquals("caf\ufffd", ((JournalEntry.End) entries.get(1)).reason());
    }

    @Test
    void linesThatDoNotParseAreReportedAndSkippedAndUnknownKindsIgnored() throws Exception {
        Files.writeString(dir.resolve(Journal.FILE), "start\t1\t0\t1\nend\tsoon\t0\nfrom-a-later-version\t2\t7\n"
                + "start\t3\t1\t1\n");
        List<JournalEntry> entries = new ArrayList<>();
        List<JournalEntry.Malformed> malformed = new ArrayList<>();
        Journal.forEachEntry(dir, entries::add, malformed::add);
        assertEquals(List.of(new JournalEntry.Start(1, 0, 1, null), new JournalEntry.Start(3, 1, 1, null)), entries);
        assertEquals(1, malformed.size());
        assertEquals("unreadable journal line: end soon 0", malformed.get(0).getMessage());
    }

    @Test
    void aJournalHasOneOwnerAtATime() {
        try (Journal owner = reopened(journals)) {
            owner.append(new JournalEntry.Cancel(1));
            assertThrows(Journal.OwnedElsewhere.class, () -> reopened(new Journals()));
        }
        reopened(journals).close(); // free again once the owner closed it
    }

    @Test
    void theLastCompleteEntryIsReadFromTheEnd() throws Exception {
        try (Journal journal = reopened(journals)) {
            journal.append(new JournalEntry.Accepted(1, "run-1", "sequential", 0, JournalEntry.FORMAT));
            journal.append(new JournalEntry.Finished(2, RunState.SUCCEEDED));
        }
        assertEquals(new JournalEntry.Finished(2, RunState.SUCCEEDED), Journal.lastEntry(dir));
        Files.writeString(dir.resolve(Journal.FILE), "end\t3", StandardOpenOption.APPEND);
        assertEquals(new JournalEntry.Finished(2, RunState.SUCCEEDED), Journal.lastEntry(dir), "a cut line is not one");
        assertNull(Journal.lastEntry(dir.resolve("nothing")));
    }

    @Test
    void aMissingJournalReadsAsEmpty() {
        assertEquals(List.of(), entries(dir.resolve("nothing")));
    }
}
