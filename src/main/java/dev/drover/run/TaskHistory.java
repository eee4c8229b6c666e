package dev.drover.run;

import dev.drover.manifest.JobResources;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Each task's attempts for report.json's {@code history}, rebuilt from the journal when the report is written: the
 * run keeps no per-attempt state in memory. Only tasks with more than one attempt are replayed (their lists are held
 * while the journal is read); a task's single attempt is its record.
 */
final class TaskHistory {

    /** One attempt: how it ended ({@code state}: SUCCEEDED, FAILED, CANCELLED; RETRIED, ESCALATED, RERUN). */
    static final class Attempt {
        final int attempt;
        String state;
        int exitCode = Integer.MIN_VALUE;
        String backendId;
        String backendState;
        String node;
        JobResources resources;
        long startedAt;
        long finishedAt;
        String reason;
        /** What the attempt used, where its strategy measured it; null otherwise. */
        TaskUsage usage;

        Attempt(int attempt, long startedAt, JobResources resources) {
            this.attempt = attempt;
            this.startedAt = startedAt;
            this.resources = resources;
        }

        /** What the cluster gave the attempt: its node, and its resources as granted over those drover asked for. */
        void granted(String node, String grantedResources) {
            this.node = node != null ? node : this.node;
            if (grantedResources != null) {
                this.resources = resources.with(JobResources.parse(grantedResources));
            }
        }
    }

    private final Map<Integer, List<Attempt>> attempts = new HashMap<>();

    private TaskHistory() {
    }

    /** The attempts of the tasks in {@code tasks}, from the run's journal. */
    static TaskHistory read(Run run, BitSet tasks) {
        TaskHistory history = new TaskHistory();
        if (tasks.isEmpty()) {
            return history;
        }
        Map<Integer, JobResources> own = new HashMap<>();
        Journal.forEachEntry(run.dir(), entry -> {
            int index = index(entry);
            if (index < 0 || !tasks.get(index)) {
                return;
            }
            List<Attempt> list = history.attempts.computeIfAbsent(index, i -> new ArrayList<>(2));
            Attempt current = list.isEmpty() ? null : list.get(list.size() - 1);
            JobResources resources = own.getOrDefault(index, run.plan().taskResources(index));
            if (entry instanceof JournalEntry.Start start) {
                if (current == null || current.attempt != start.attempt()) {
                    list.add(new Attempt(start.attempt(), start.at(), resources));
                }
                if (start.backendId() != null) {
                    list.get(list.size() - 1).backendId = start.backendId();
                }
            } else if (current == null) {
                return; // nothing started (a cancel of a pending task): the record says it
            } else if (entry instanceof JournalEntry.Backend b) {
                current.backendId = b.backendId() != null ? b.backendId() : current.backendId;
                current.backendState = b.backendState() != null ? b.backendState() : current.backendState;
                current.node = b.node() != null ? b.node() : current.node;
            } else if (entry instanceof JournalEntry.Retry r) {
                ended(current, "RETRIED", r.at(), r.exitCode(), r.reason());
                if (r.heldByBackend()) { // the cluster's own retry starts at once under the same id
                    Attempt next = new Attempt(r.attempt() + 1, r.at(), resources);
                    next.backendId = current.backendId;
                    list.add(next);
                }
            } else if (entry instanceof JournalEntry.Escalate e) {
                ended(current, "ESCALATED", e.at(), e.exitCode(), e.reason());
                own.put(index, run.plan().taskResources(index).with(JobResources.parse(e.resources())));
            } else if (entry instanceof JournalEntry.Rerun r) {
                ended(current, "RERUN", r.at(), r.exitCode(), r.reason());
                current.node = r.node() != null ? r.node() : current.node;
            } else if (entry instanceof JournalEntry.End end) {
                ended(current, end.state().name(), end.at(), end.exitCode(), end.reason());
            } else if (entry instanceof JournalEntry.Granted g) {
                for (Attempt a : list) { // journalled once the cluster accounted for it: maybe after a later start
                    if (a.attempt == g.attempt()) {
                        a.granted(g.node(), g.resources());
                    }
                }
            } else if (entry instanceof JournalEntry.Usage u) {
                for (Attempt a : list) { // journalled before its attempt's end or retry: usually the current one
                    if (a.attempt == u.attempt()) {
                        a.usage = u.usage();
                    }
                }
            }
        });
        return history;
    }

    private static void ended(Attempt attempt, String state, long at, int exitCode, String reason) {
        attempt.state = state;
        attempt.finishedAt = at;
        attempt.exitCode = exitCode;
        attempt.reason = reason;
    }

    private static int index(JournalEntry entry) {
        if (entry instanceof JournalEntry.Start e) {
            return e.index();
        } else if (entry instanceof JournalEntry.Backend e) {
            return e.index();
        } else if (entry instanceof JournalEntry.Retry e) {
            return e.index();
        } else if (entry instanceof JournalEntry.Escalate e) {
            return e.index();
        } else if (entry instanceof JournalEntry.Rerun e) {
            return e.index();
        } else if (entry instanceof JournalEntry.End e) {
            return e.index();
        } else if (entry instanceof JournalEntry.Usage e) {
            return e.index();
        } else if (entry instanceof JournalEntry.Granted e) {
            return e.index();
        }
        return -1;
    }

    /** The task's attempts, or null when it was not replayed (one attempt: its record is its history). */
    List<Attempt> of(int index) {
        return attempts.get(index);
    }

    /** A task's one attempt as its record has it. */
    static Attempt single(TaskRecord record, JobResources resources, TaskUsage usage, Grants.Grant grant) {
        Attempt only = new Attempt(Math.max(1, record.attempts()), record.startedAt(), resources);
        ended(only, record.state().name(), record.finishedAt(), record.exitCode(), record.reason());
        only.backendId = record.backendId();
        only.backendState = record.backendState();
        only.usage = usage;
        if (grant != null) {
            only.granted(grant.node(), grant.resources());
        }
        return only;
    }
}
