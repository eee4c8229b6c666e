package dev.drover.run;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class JournalTest {

    @TempDir
    Path dir;

    @Test
    void appendsTabSeparatedLines() {
        try (Journal journal = Journal.open(dir)) {
            journal.appendAndSync("accepted", "1", "run-1");
            journal.append("end", "2", "0", "1", "FAILED", "3", Journal.clean("bad\tthing\nhere"));
        }
        List<String[]> lines = Journal.read(dir);
        assertEquals(2, lines.size());
        assertArrayEquals(new String[]{"accepted", "1", "run-1"}, lines.get(0));
        assertEquals("bad thing here", lines.get(1)[6]);
    }

    @Test
    void aLineCutShortByACrashIsIgnoredAndTheNextWriterStartsAFreshLine() throws Exception {
        try (Journal journal = Journal.open(dir)) {
            journal.append("start", "1", "0", "1");
        }
        Files.writeString(dir.resolve(Journal.FILE), "end\t2\t0", StandardOpenOption.APPEND);
        assertEquals(1, Journal.read(dir).size());
        try (Journal journal = Journal.open(dir)) {
            journal.append("start", "3", "1", "1");
        }
        List<String[]> lines = Journal.read(dir);
        assertEquals(2, lines.size(), "the cut line is gone: no later reading can take it for a whole one");
        assertArrayEquals(new String[]{"start", "1", "0", "1"}, lines.get(0));
        assertArrayEquals(new String[]{"start", "3", "1", "1"}, lines.get(1));
    }

    @Test
    void aCharacterTheCrashCutInTwoIsReadAsAReplacement() throws Exception {
        try (Journal journal = Journal.open(dir)) {
            journal.append("end", "1", "0", "1", "FAILED", "1", "caf\u00e9");
        }
        byte[] cut = "end\t2\t1\t1\tFAILED\t1\tcaf\u00e9\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] broken = java.util.Arrays.copyOf(cut, cut.length - 1); // the first byte of é, then the newline
        broken[broken.length - 1] = '\n';
        Files.write(dir.resolve(Journal.FILE), broken, StandardOpenOption.APPEND);
        List<String[]> lines = Journal.read(dir);
        assertEquals(2, lines.size());
        assertEquals("caf\u00e9", lines.get(0)[6]);
        assertEquals("caf\ufffd", lines.get(1)[6]);
    }

    @Test
    void aJournalHasOneOwnerAtATime() {
        try (Journal owner = Journal.open(dir)) {
            owner.append("accepted", "1", "run-1");
            org.junit.jupiter.api.Assertions.assertThrows(Journal.OwnedElsewhere.class, () -> Journal.open(dir));
        }
        Journal.open(dir).close(); // free again once the owner closed it
    }

    @Test
    void theLastCompleteLineIsReadFromTheEnd() throws Exception {
        try (Journal journal = Journal.open(dir)) {
            journal.append("accepted", "1", "run-1");
            journal.append("finished", "2", "SUCCEEDED");
        }
        assertArrayEquals(new String[]{"finished", "2", "SUCCEEDED"}, Journal.lastLine(dir));
        Files.writeString(dir.resolve(Journal.FILE), "end\t3", StandardOpenOption.APPEND);
        assertArrayEquals(new String[]{"finished", "2", "SUCCEEDED"}, Journal.lastLine(dir), "a cut line is not one");
        assertEquals(null, Journal.lastLine(dir.resolve("nothing")));
    }

    @Test
    void aMissingJournalReadsAsEmpty() {
        assertEquals(0, Journal.read(dir.resolve("nothing")).size());
    }
}
