package dev.drover.run;

import java.nio.file.Path;
import java.util.BitSet;

/**
 * How many tasks of a run ran out of memory or time and were given more ({@code escalated}), and how many ran again
 * after a node failure or preemption without spending a retry ({@code requeued}): read from the journal for
 * {@code drover status}, told by the summary line and report.json.
 */
public record Escalations(int escalated, int requeued) {

    public static Escalations read(Path runDir) {
        BitSet escalated = new BitSet();
        BitSet requeued = new BitSet();
        Journal.forEachEntry(runDir, entry -> {
            if (entry instanceof JournalEntry.Escalate e) {
                escalated.set(e.index());
            } else if (entry instanceof JournalEntry.Rerun r) {
                requeued.set(r.index());
            }
        });
        return new Escalations(escalated.cardinality(), requeued.cardinality());
    }

    /** ", 3 escalated, 1 requeued" for a summary line; empty when there were none. */
    public String describe() {
        return escalated == 0 && requeued == 0 ? "" : ", " + escalated + " escalated, " + requeued + " requeued";
    }
}
