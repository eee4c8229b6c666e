package dev.drover.run;

import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The journals one registry has open, and the periodic sync that forces what they wrote to disk. The sync runs on
 * a scheduler the owner hands to {@link #start} (Camel's ExecutorServiceManager in drover); until then, and in
 * tools that only read, journals are synced only when a line demands it and on closing.
 */
final class Journals {

    static final long SYNC_MILLIS = 200;

    private final Set<Journal> open = ConcurrentHashMap.newKeySet();

    void start(ScheduledExecutorService scheduler) {
        scheduler.scheduleWithFixedDelay(() -> open.forEach(Journal::syncQuietly), SYNC_MILLIS, SYNC_MILLIS,
                TimeUnit.MILLISECONDS);
    }

    /** {@link Journal#create}: a new run's journal, holding its first entry. */
    Journal create(Path runDir, JournalEntry first) {
        Journal journal = Journal.create(runDir, first, open::remove);
        open.add(journal);
        return journal;
    }

    Journal openUnended(Path runDir) {
        Journal journal = Journal.openUnended(runDir, open::remove);
        open.add(journal);
        return journal;
    }
}
