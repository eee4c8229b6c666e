package dev.drover.run;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The journal codec: every entry kind survives encode and decode, whatever its text holds. */
class JournalEntryTest {

    /** Text a reason, id or key may hold: separators, escapes of its own, any script, nothing at all. */
    private static final List<String> AWKWARD = Arrays.asList(null, "", "plain", "tab\there", "two\nlines\r\n",
            "a \\t that is no tab, a \\\\ and a \\n", "ends in a backslash \\", "\\", "naïve 数据 🚀 ünïcödé",
            "\t\n\r\\", " spaced ");

    private static List<JournalEntry> everyKind(String text) {
        String key = text == null ? "a0001" : "key " + text; // a submission always has its key
        return List.of(
                new JournalEntry.Accepted(1, "run " + text, "slurm", 3, JournalEntry.FORMAT),
                new JournalEntry.Start(2, 0, 1, null),
                new JournalEntry.Start(3, 1, 2, text),
                new JournalEntry.End(4, 2, 3, TaskState.FAILED, Integer.MIN_VALUE, text),
                new JournalEntry.End(5, 0, 1, TaskState.SUCCEEDED, 0, null),
                new JournalEntry.Backend(6, 1, text, text),
                new JournalEntry.Backend(7, 1, null, "COMPLETED"),
                new JournalEntry.Retry(8, 1, 1, 137, text, false),
                new JournalEntry.Retry(9, 1, 2, -1, text, true),
                new JournalEntry.Requeue(10, 2),
                new JournalEntry.Boot(11, text),
                new JournalEntry.Process(12, 2, 4, Long.MAX_VALUE, 1234567890123L),
                new JournalEntry.Usage(13, 2, 4, 2828, 1341, 118_677_504L),
                new JournalEntry.Submission(13, key, text),
                new JournalEntry.Cancel(14),
                new JournalEntry.Recovered(15, 2),
                new JournalEntry.Finished(16, RunState.CANCELLED));
    }

    @Test
    void everyKindRoundTripsWithAnyText() {
        for (String text : AWKWARD) {
            JournalEntry.Decoder decoder = new JournalEntry.Decoder();
            for (JournalEntry entry : everyKind(text)) {
                String line = entry.encode();
                assertFalse(line.contains("\n") || line.contains("\r"), "one line: " + line);
                assertEquals(entry, decoder.decode(line), "text " + text);
            }
        }
    }

    @Test
    void anEmptyTextIsNoText() {
        assertNull(new JournalEntry.End(1, 0, 1, TaskState.FAILED, 1, "").reason());
        assertNull(new JournalEntry.Submission(1, "a0001", "").clusterId());
    }

    @Test
    void newLinesKeepEveryFieldWhereThePreviousVersionReadIt() {
        String[] accepted = new JournalEntry.Accepted(1, "r", "slurm", 3, 2).encode().split("\t", -1);
        assertEquals(List.of("accepted", "1", "r", "slurm", "3"), List.of(accepted).subList(0, 5));
        assertEquals(List.of("start", "2", "0", "1"), List.of(new JournalEntry.Start(2, 0, 1, null).encode().split("\t", -1)));
        assertEquals(List.of("start", "2", "0", "1", "77_0"),
                List.of(new JournalEntry.Start(2, 0, 1, "77_0").encode().split("\t", -1)));
        assertEquals(List.of("end", "4", "2", "3", "FAILED", "-2147483648", ""),
                List.of(new JournalEntry.End(4, 2, 3, TaskState.FAILED, Integer.MIN_VALUE, null).encode().split("\t", -1)));
        assertEquals(List.of("backend", "6", "1", "", "COMPLETED"),
                List.of(new JournalEntry.Backend(6, 1, null, "COMPLETED").encode().split("\t", -1)));
        assertEquals(List.of("retry", "9", "1", "2", "1", "Error", "held"),
                List.of(new JournalEntry.Retry(9, 1, 2, 1, "Error", true).encode().split("\t", -1)));
        assertEquals(List.of("retry", "9", "1", "2", "1", ""),
                List.of(new JournalEntry.Retry(9, 1, 2, 1, null, false).encode().split("\t", -1)));
        assertEquals(List.of("submission", "13", "a0001", ""),
                List.of(new JournalEntry.Submission(13, "a0001", null).encode().split("\t", -1)));
        assertEquals(List.of("process", "12", "2", "4", "99", "100"),
                List.of(new JournalEntry.Process(12, 2, 4, 99, 100).encode().split("\t", -1)));
        assertEquals(List.of("finished", "16", "FAILED"),
                List.of(new JournalEntry.Finished(16, RunState.FAILED).encode().split("\t", -1)));
    }

    @Test
    void theFirstFormatsTextIsReadAsWritten() {
        JournalEntry.Decoder decoder = new JournalEntry.Decoder();
        decoder.decode("accepted\t1\told\tsequential\t1");
        assertEquals(new JournalEntry.End(2, 0, 1, TaskState.FAILED, 1, "C:\\new\\table"),
                decoder.decode("end\t2\t0\t1\tFAILED\t1\tC:\\new\\table"));
        JournalEntry.Decoder current = new JournalEntry.Decoder();
        current.decode("accepted\t1\tnew\tsequential\t1\t2");
        assertEquals(new JournalEntry.End(2, 0, 1, TaskState.FAILED, 1, "C:\new\table"),
                current.decode("end\t2\t0\t1\tFAILED\t1\tC:\\new\\table"), "a journal of format 2 is unescaped");
    }

    @Test
    void aBrokenLineOfAKnownKindIsMalformedAndAnUnknownKindIsNone() {
        JournalEntry.Decoder decoder = new JournalEntry.Decoder();
        List<String> broken = new ArrayList<>(List.of("start", "start\t1", "start\tx\t0\t1", "end\t1\t0\t1\tLOST\t0\t",
                "end\t1\t0\t1\tFAILED", "finished\t1\tMAYBE", "process\t1\t0\t1\t99", "accepted\t1\tr\tslurm\tmany"));
        for (String line : broken) {
            assertThrows(JournalEntry.Malformed.class, () -> decoder.decode(line), line);
        }
        assertNull(decoder.decode("checkpoint\t1\tanything"));
    }
}
