package dev.drover.run;

/**
 * One line of a run's journal, and the one place that knows the line format: {@link #encode()} writes it,
 * {@link Decoder#decode} reads it back. A line is the entry's kind and then its fields, tab-separated; the second
 * field is always the time (epoch ms).
 * <p>
 * Text fields (reasons, backend ids, keys) are escaped ({@code \\ \t \n \r}) in journals of {@link #FORMAT} 2, which
 * the accepted line says; journals of the first format had such characters replaced by spaces and are read verbatim.
 * A null text and an empty one are the same (an empty field). Unknown kinds decode to null, so that a journal
 * written by a later version still replays; a line that does not parse throws {@link Malformed}.
 */
public sealed interface JournalEntry {

    /** The format this version writes; the accepted line carries it (absent: the first format, no escaping). */
    int FORMAT = 2;

    long at();

    /** The line, without its newline. */
    String encode();

    /** A run made durable: its first line. */
    record Accepted(long at, String runId, String strategy, int tasks, int format) implements JournalEntry {
        public String encode() {
            return line("accepted", at).text(runId).text(strategy).add(tasks).add(format).done();
        }
    }

    /** An attempt starting; {@code backendId} non-null when a cluster holds it from the start (a Job's pod). */
    record Start(long at, int index, int attempt, String backendId) implements JournalEntry {
        public Start {
            backendId = nullIfEmpty(backendId);
        }

        public String encode() {
            Line line = line("start", at).add(index).add(attempt);
            return (backendId == null ? line : line.text(backendId)).done();
        }
    }

    /** A task's final state; {@code exitCode} is {@link Integer#MIN_VALUE} when there is none. */
    record End(long at, int index, int attempt, TaskState state, int exitCode, String reason) implements JournalEntry {
        public End {
            reason = nullIfEmpty(reason);
        }

        public String encode() {
            return line("end", at).add(index).add(attempt).add(state.name()).add(exitCode).text(reason).done();
        }
    }

    /** Where a cluster runs a task and its word for the task's state; either may be null (unchanged). */
    record Backend(long at, int index, String backendId, String backendState, String node) implements JournalEntry {
        public Backend {
            backendId = nullIfEmpty(backendId);
            backendState = nullIfEmpty(backendState);
            node = nullIfEmpty(node);
        }

        public Backend(long at, int index, String backendId, String backendState) {
            this(at, index, backendId, backendState, null);
        }

        public String encode() {
            Line line = line("backend", at).add(index).text(backendId).text(backendState);
            return (node == null ? line : line.text(node)).done();
        }
    }

    record Retry(long at, int index, int attempt, int exitCode, String reason, boolean heldByBackend)
            implements JournalEntry {
        public Retry {
            reason = nullIfEmpty(reason);
        }

        public String encode() {
            Line line = line("retry", at).add(index).add(attempt).add(exitCode).text(reason);
            return (heldByBackend ? line.add(HELD) : line).done();
        }
    }

    /**
     * An attempt that ran out of memory or time and runs again with more, spending a retry: the retry and the
     * task's own resources from its next attempt on (over the run's, e.g. {@code mem=4G}) in one line, so no crash
     * falls between them.
     */
    record Escalate(long at, int index, int attempt, int exitCode, String reason, String resources)
            implements JournalEntry {
        public Escalate {
            reason = nullIfEmpty(reason);
        }

        public String encode() {
            return line("escalate", at).add(index).add(attempt).add(exitCode).text(reason).text(resources).done();
        }
    }

    /** An attempt whose node failed or that was preempted: it runs again without spending a retry. */
    record Rerun(long at, int index, int attempt, int exitCode, String reason, String node) implements JournalEntry {
        public Rerun {
            reason = nullIfEmpty(reason);
            node = nullIfEmpty(node);
        }

        public String encode() {
            return line("rerun", at).add(index).add(attempt).add(exitCode).text(reason).text(node).done();
        }
    }

    /** A task a cluster held goes back to the queue before a recovered run resumes. */
    record Requeue(long at, int index) implements JournalEntry {
        public String encode() {
            return line("requeue", at).add(index).done();
        }
    }

    /** The boot of the machine that the following {@link Process} lines' pids and start times belong to. */
    record Boot(long at, String bootId) implements JournalEntry {
        public Boot {
            bootId = nullIfEmpty(bootId);
        }

        public String encode() {
            return line("boot", at).text(bootId).done();
        }
    }

    /** The process a local attempt runs as (pid and start time in clock ticks since boot). */
    record Process(long at, int index, int attempt, long pid, long startTicks) implements JournalEntry {
        public String encode() {
            return line("process", at).add(index).add(attempt).add(pid).add(startTicks).done();
        }
    }

    /** What an attempt used, as its strategy measured it (wall and CPU time in ms, peak resident memory in bytes). */
    record Usage(long at, int index, int attempt, long wallMillis, long cpuMillis, long maxRssBytes)
            implements JournalEntry {
        public String encode() {
            return line("usage", at).add(index).add(attempt).add(wallMillis).add(cpuMillis).add(maxRssBytes).done();
        }

        public TaskUsage usage() {
            return new TaskUsage(wallMillis, cpuMillis, maxRssBytes);
        }
    }

    /**
     * What a cluster gave an attempt, as its accounting says once the attempt has ended: the node it ran on and the
     * resources it was granted ({@code mem=4000M,time=01:00:00}: may differ from what drover asked, e.g. a
     * partition's default); either may be null.
     */
    record Granted(long at, int index, int attempt, String node, String resources) implements JournalEntry {
        public Granted {
            node = nullIfEmpty(node);
            resources = nullIfEmpty(resources);
        }

        public String encode() {
            return line("granted", at).add(index).add(attempt).text(node).text(resources).done();
        }
    }

    /** A submission to a cluster under the lane's key; {@code clusterId} null while its answer is awaited. */
    record Submission(long at, String key, String clusterId) implements JournalEntry {
        public Submission {
            clusterId = nullIfEmpty(clusterId);
        }

        public String encode() {
            return line("submission", at).text(key).text(clusterId).done();
        }
    }

    record Cancel(long at) implements JournalEntry {
        public String encode() {
            return line("cancel", at).done();
        }
    }

    /** A restarted drover took the run over; {@code requeued} tasks that were running run again. */
    record Recovered(long at, int requeued) implements JournalEntry {
        public String encode() {
            return line("recovered", at).add(requeued).done();
        }
    }

    /** The run's last line, written after report.json. */
    record Finished(long at, RunState state) implements JournalEntry {
        public String encode() {
            return line("finished", at).add(state.name()).done();
        }
    }

    /** A line that names a known kind but does not parse (a field missing or not a number). */
    final class Malformed extends RuntimeException {
        Malformed(String line, RuntimeException cause) {
            super("unreadable journal line: " + line.replace('\t', ' '), cause);
        }
    }

    /**
     * Reads the lines of one journal in order. It learns the journal's format from the accepted line, so one decoder
     * serves one journal; a decoder that never saw that line reads text fields verbatim (the first format's rule).
     */
    final class Decoder {
        private int format = 1;

        /** The entry a complete line (no newline) holds; null for a kind this version does not know. */
        public JournalEntry decode(String text) {
            String[] f = text.split("\t", -1);
            try {
                if (f[0].equals("accepted")) {
                    format = f.length > 5 ? num(f[5]) : 1; // its own text is in its own format
                }
                return decode(f);
            } catch (RuntimeException e) {
                throw new Malformed(text, e);
            }
        }

        private JournalEntry decode(String[] f) {
            long at = Long.parseLong(f[1]);
            return switch (f[0]) {
                case "accepted" -> new Accepted(at, text(f[2]), text(f[3]), num(f[4]), f.length > 5 ? num(f[5]) : 1);
                case "start" -> new Start(at, num(f[2]), num(f[3]), f.length > 4 ? text(f[4]) : null);
                case "end" -> new End(at, num(f[2]), num(f[3]), TaskState.valueOf(f[4]), num(f[5]),
                        f.length > 6 ? text(f[6]) : null);
                case "backend" -> new Backend(at, num(f[2]), text(f[3]), f.length > 4 ? text(f[4]) : null,
                        f.length > 5 ? text(f[5]) : null);
                case "escalate" -> new Escalate(at, num(f[2]), num(f[3]), num(f[4]), text(f[5]), text(f[6]));
                case "rerun" -> new Rerun(at, num(f[2]), num(f[3]), num(f[4]), text(f[5]), text(f[6]));
                case "retry" -> new Retry(at, num(f[2]), num(f[3]), num(f[4]), f.length > 5 ? text(f[5]) : null,
                        f.length > 6 && f[6].equals(HELD));
                case "requeue" -> new Requeue(at, num(f[2]));
                case "boot" -> new Boot(at, text(f[2]));
                case "process" -> new Process(at, num(f[2]), num(f[3]), Long.parseLong(f[4]), Long.parseLong(f[5]));
                case "usage" -> new Usage(at, num(f[2]), num(f[3]), Long.parseLong(f[4]), Long.parseLong(f[5]),
                        Long.parseLong(f[6]));
                case "granted" -> new Granted(at, num(f[2]), num(f[3]), text(f[4]), text(f[5]));
                case "submission" -> new Submission(at, text(f[2]), f.length > 3 ? text(f[3]) : null);
                case "cancel" -> new Cancel(at);
                case "recovered" -> new Recovered(at, f.length > 2 ? num(f[2]) : 0);
                case "finished" -> new Finished(at, RunState.valueOf(f[2]));
                default -> null;
            };
        }

        private String text(String field) {
            return format < 2 || field.indexOf('\\') < 0 ? field : unescape(field);
        }
    }

    /** Last field of a retry line whose next attempt the cluster runs. */
    String HELD = "held";

    private static int num(String field) {
        return Integer.parseInt(field);
    }

    private static String nullIfEmpty(String text) {
        return text == null || text.isEmpty() ? null : text;
    }

    private static Line line(String kind, long at) {
        return new Line(kind).add(at);
    }

    /** Builds one line, field by field. */
    final class Line {
        private final StringBuilder text = new StringBuilder(64);

        private Line(String kind) {
            text.append(kind);
        }

        Line add(String field) {
            text.append('\t').append(field);
            return this;
        }

        Line add(long field) {
            text.append('\t').append(field);
            return this;
        }

        /** A free-text field: escaped so that no tab, newline or backslash of its own ends or changes it. */
        Line text(String field) {
            text.append('\t');
            if (field != null) {
                for (int i = 0; i < field.length(); i++) {
                    char c = field.charAt(i);
                    switch (c) {
                        case '\\' -> text.append("\\\\");
                        case '\t' -> text.append("\\t");
                        case '\n' -> text.append("\\n");
                        case '\r' -> text.append("\\r");
                        default -> text.append(c);
                    }
                }
            }
            return this;
        }

        String done() {
            return text.toString();
        }
    }

    private static String unescape(String field) {
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && i + 1 < field.length()) {
                char next = field.charAt(++i);
                out.append(switch (next) {
                    case 't' -> '\t';
                    case 'n' -> '\n';
                    case 'r' -> '\r';
                    default -> next;
                });
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
