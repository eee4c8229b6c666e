package dev.drover.run;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a cluster last gave each task ({@link JournalEntry.Granted}: node and granted resources), for the report's
 * history of a task's one attempt. A run's distinct grants are few (nodes × resource signatures), so a task holds
 * the number of its grant: one int a task, allocated at the first grant, nothing for a run no cluster accounts for.
 */
final class Grants {

    /** A node (null: not known) and granted resources as JobResources text (null: none known). */
    record Grant(String node, String resources) {
    }

    private final int size;
    private int[] of;
    private final List<Grant> distinct = new ArrayList<>();
    private final Map<Grant, Integer> numbers = new HashMap<>();

    Grants(int size) {
        this.size = size;
    }

    void set(int index, Grant grant) {
        if (of == null) {
            of = new int[size];
            java.util.Arrays.fill(of, -1);
        }
        of[index] = numbers.computeIfAbsent(grant, g -> {
            distinct.add(g);
            return distinct.size() - 1;
        });
    }

    /** The task's last grant, or null. */
    Grant get(int index) {
        return of == null || of[index] < 0 ? null : distinct.get(of[index]);
    }
}
