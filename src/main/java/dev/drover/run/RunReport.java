package dev.drover.run;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import dev.drover.manifest.TaskSource;
import dev.drover.manifest.TaskSpec;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.BitSet;
import java.util.List;

/**
 * Writes report.json: the run's outcome and one entry per task, compact (no indentation) and streamed, so a large
 * run needs no second copy of its tasks in memory. A run of more than {@link #INLINE_TASKS} tasks keeps its tasks in
 * {@link #TASKS_FILE} instead, one JSON array per line under a header line naming the columns (a million tasks: about
 * 88 MB, 103 MB with usage, instead of 175 MB of objects), and report.json names that file in "tasksFile". Each file
 * is written to a temporary file first and renamed, tasks.jsonl before report.json, so that a reader never sees half
 * of either.
 */
public final class RunReport {

    public static final String FILE = "report.json";
    public static final String TASKS_FILE = "tasks.jsonl";
    /** In a run directory made by `drover rerun`: the id of the run it reruns, copied into the report's rerunOf. */
    public static final String RERUN_OF_FILE = "rerun-of";
    /** Up to this many tasks (about 17 MB) are listed in report.json itself. */
    public static final int INLINE_TASKS = 100_000;
    /** The columns of tasks.jsonl's rows, in order; a row omits its trailing nulls. */
    public static final List<String> COLUMNS = List.of("id", "index", "state", "exitCode", "attempts", "startedAt",
            "finishedAt", "usage", "reason", "backendId", "backendState", "history");
    /** The figures of tasks.jsonl's {@code usage} column, in order: an array, a third of the size of the object. */
    public static final List<String> USAGE_FIGURES = List.of("wallSeconds", "cpuSeconds", "maxRssBytes");

    private RunReport() {
    }

    static void write(Run run, RunState state) {
        write(run, state, INLINE_TASKS);
    }

    static void write(Run run, RunState state, int inlineTasks) {
        TaskSource tasks = run.plan().manifest().tasks();
        boolean inline = tasks.size() <= inlineTasks;
        BitSet retried = new BitSet();
        for (int i = 0; i < tasks.size(); i++) {
            if (run.record(i).attempts() > 1) {
                retried.set(i);
            }
        }
        TaskHistory history = TaskHistory.read(run, retried);
        if (!inline) {
            replace(run.dir().resolve(TASKS_FILE), out -> writeRows(run, tasks, history, new Row(out)));
        }
        replace(run.dir().resolve(FILE), out -> {
            Row json = new Row(out);
            json.raw("{\"runId\":").string(run.id())
                    .raw(",\"name\":").string(run.plan().manifest().name())
                    .raw(",\"strategy\":").string(run.strategyName())
                    .raw(",\"state\":").string(state.name());
            Path rerunOf = run.dir().resolve(RERUN_OF_FILE);
            writeIfPresent(json, "rerunOf", Files.exists(rerunOf) ? Files.readString(rerunOf).strip() : null);
            json.raw(",\"acceptedAt\":").time(run.acceptedAt())
                    .raw(",\"finishedAt\":").time(System.currentTimeMillis())
                    .raw(",\"counts\":{\"succeeded\":").number(run.count(TaskState.SUCCEEDED))
                    .raw(",\"failed\":").number(run.count(TaskState.FAILED))
                    .raw(",\"cancelled\":").number(run.count(TaskState.CANCELLED)).raw("}")
                    .raw(",\"escalated\":").number(run.escalations().escalated())
                    .raw(",\"requeued\":").number(run.escalations().requeued());
            if (inline) {
                writeObjects(run, tasks, history, json);
            } else {
                json.raw(",\"tasksFile\":").string(TASKS_FILE);
            }
            json.raw("}\n").flush();
        });
    }

    private static void writeObjects(Run run, TaskSource tasks, TaskHistory history, Row json) throws IOException {
        json.raw(",\"tasks\":[");
        for (int i = 0; i < tasks.size(); i++) {
            TaskSpec task = tasks.task(i);
            TaskRecord record = run.record(i);
            json.raw(i == 0 ? "{\"id\":" : ",{\"id\":").string(task.id())
                    .raw(",\"index\":").number(i)
                    .raw(",\"state\":").string(record.state().name())
                    .raw(",\"exitCode\":").exitCode(record.exitCode())
                    .raw(",\"attempts\":").number(record.attempts())
                    .raw(",\"startedAt\":").time(record.startedAt())
                    .raw(",\"finishedAt\":").time(record.finishedAt())
                    .raw(",\"log\":").string(Run.logPath(task));
            writeIfPresent(json, "reason", record.reason());
            writeIfPresent(json, "backendId", record.backendId());
            writeIfPresent(json, "backendState", record.backendState());
            writeUsage(json, run.usage(i));
            List<TaskHistory.Attempt> attempts = history.of(i);
            json.raw(",\"history\":");
            writeHistory(json, attempts != null ? attempts
                    : record.startedAt() == 0 ? List.of()
                    : List.of(TaskHistory.single(record, run.taskResources(i), run.usage(i),
                    run.granted(i))));
            json.raw("}");
        }
        json.raw("]");
    }

    /** tasks.jsonl: a header line, then one array per task in index order (see {@link #COLUMNS}). */
    private static void writeRows(Run run, TaskSource tasks, TaskHistory history, Row row) throws IOException {
        row.raw("{\"columns\":[");
        for (int c = 0; c < COLUMNS.size(); c++) {
            row.raw(c == 0 ? "" : ",").string(COLUMNS.get(c));
        }
        row.raw("],\"usage\":[");
        for (int f = 0; f < USAGE_FIGURES.size(); f++) {
            row.raw(f == 0 ? "" : ",").string(USAGE_FIGURES.get(f));
        }
        row.raw("],\"log\":\"logs/<id>.log\"}\n");
        for (int i = 0; i < tasks.size(); i++) {
            TaskRecord record = run.record(i);
            row.raw("[").string(tasks.id(i)).raw(",").number(i).raw(",").string(record.state().name())
                    .raw(",").exitCode(record.exitCode()).raw(",").number(record.attempts())
                    .raw(",").time(record.startedAt()).raw(",").time(record.finishedAt());
            TaskUsage usage = run.usage(i);
            String[] rest = {record.reason(), record.backendId(), record.backendState()};
            List<TaskHistory.Attempt> attempts = history.of(i); // only for tasks with more than one attempt
            int last = rest.length - 1;
            while (attempts == null && last >= 0 && rest[last] == null) {
                last--;
            }
            if (usage != null || last >= 0) {
                row.raw(",");
                if (usage == null) {
                    row.raw("null");
                } else {
                    row.raw("[").raw(seconds(usage.wallMillis())).raw(",").raw(seconds(usage.cpuMillis()))
                            .raw(",").number(usage.maxRssBytes()).raw("]");
                }
            }
            for (int r = 0; r <= last; r++) {
                row.raw(",");
                if (rest[r] == null) {
                    row.raw("null");
                } else {
                    row.string(rest[r]);
                }
            }
            if (attempts != null) {
                row.raw(",");
                writeHistory(row, attempts);
            }
            row.raw("]\n");
        }
        row.flush();
    }

    /** A task's {@code history}: one object per attempt, from the journal ({@link TaskHistory}). */
    private static void writeHistory(Row json, List<TaskHistory.Attempt> attempts) throws IOException {
        json.raw("[");
        for (int a = 0; a < attempts.size(); a++) {
            TaskHistory.Attempt at = attempts.get(a);
            json.raw(a == 0 ? "{\"attempt\":" : ",{\"attempt\":").number(at.attempt)
                    .raw(",\"state\":").string(at.state == null ? TaskState.RUNNING.name() : at.state)
                    .raw(",\"exitCode\":").exitCode(at.exitCode);
            writeIfPresent(json, "backendId", at.backendId);
            writeIfPresent(json, "backendState", at.backendState);
            writeIfPresent(json, "node", at.node);
            json.raw(",\"resources\":{");
            boolean first = true;
            for (var entry : at.resources.schedulerValues().entrySet()) {
                json.raw(first ? "" : ",").string(entry.getKey()).raw(":").string(entry.getValue());
                first = false;
            }
            json.raw("},\"startedAt\":").time(at.startedAt).raw(",\"finishedAt\":").time(at.finishedAt);
            writeIfPresent(json, "reason", at.reason);
            writeUsage(json, at.usage);
            json.raw("}");
        }
        json.raw("]");
    }

    /** "usage": the last attempt's measured figures, when its strategy measured them. */
    private static void writeUsage(Row json, TaskUsage usage) throws IOException {
        if (usage != null) {
            json.raw(",\"usage\":{\"wallSeconds\":").raw(seconds(usage.wallMillis()))
                    .raw(",\"cpuSeconds\":").raw(seconds(usage.cpuMillis()))
                    .raw(",\"maxRssBytes\":").number(usage.maxRssBytes()).raw("}");
        }
    }

    private static String seconds(long millis) {
        return java.math.BigDecimal.valueOf(millis, 3).stripTrailingZeros().toPlainString();
    }

    private static void writeIfPresent(Row json, String field, String value) throws IOException {
        if (value != null) {
            json.raw(",\"").raw(field).raw("\":").string(value);
        }
    }

    /**
     * Writes the JSON by hand rather than token by token through a generator, which was most of the time of a
     * million-task report: ASCII as it is, strings quoted and escaped by Jackson, numbers and times directly.
     */
    private static final class Row {
        private static final JsonStringEncoder ESCAPE = JsonStringEncoder.getInstance();
        private final OutputStream out;
        private final byte[] buffer = new byte[1 << 16];
        private int used;
        private long second = Long.MIN_VALUE;
        private final byte[] time = new byte[26];

        Row(OutputStream out) {
            this.out = out;
        }

        Row raw(String ascii) throws IOException {
            if (!room(ascii.length())) {
                out.write(ascii.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                return this;
            }
            for (int i = 0; i < ascii.length(); i++) {
                buffer[used++] = (byte) ascii.charAt(i);
            }
            return this;
        }

        Row string(String value) throws IOException {
            boolean plain = true;
            for (int i = 0; i < value.length() && plain; i++) {
                char c = value.charAt(i);
                plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
            }
            if (plain) {
                return raw("\"").raw(value).raw("\"");
            }
            byte[] quoted = ESCAPE.quoteAsUTF8(value);
            if (!room(quoted.length + 2)) {
                out.write('"');
                out.write(quoted);
                out.write('"');
                return this;
            }
            buffer[used++] = '"';
            System.arraycopy(quoted, 0, buffer, used, quoted.length);
            used += quoted.length;
            buffer[used++] = '"';
            return this;
        }

        Row number(long value) throws IOException {
            return raw(Long.toString(value));
        }

        /** Integer.MIN_VALUE stands for no exit code. */
        Row exitCode(int value) throws IOException {
            return value == Integer.MIN_VALUE ? raw("null") : number(value);
        }

        /** An ISO-8601 instant with milliseconds, quoted (null for 0); date and time formatted once per second. */
        Row time(long epochMillis) throws IOException {
            if (epochMillis == 0) {
                return raw("null");
            }
            long s = Math.floorDiv(epochMillis, 1000);
            if (s != second) {
                String whole = Instant.ofEpochSecond(s).toString(); // yyyy-mm-ddThh:mm:ssZ in the years drover sees
                if (whole.length() != 20) {
                    return string(Instant.ofEpochMilli(epochMillis).toString());
                }
                time[0] = '"';
                for (int i = 0; i < 19; i++) {
                    time[i + 1] = (byte) whole.charAt(i);
                }
                time[20] = '.';
                time[24] = 'Z';
                time[25] = '"';
                second = s;
            }
            int millis = (int) Math.floorMod(epochMillis, 1000);
            time[21] = (byte) ('0' + millis / 100);
            time[22] = (byte) ('0' + millis / 10 % 10);
            time[23] = (byte) ('0' + millis % 10);
            room(time.length); // always fits
            System.arraycopy(time, 0, buffer, used, time.length);
            used += time.length;
            return this;
        }

        /** Makes room for {@code bytes} in the buffer; false (the buffer flushed) when they would not fit at all. */
        private boolean room(int bytes) throws IOException {
            if (used + bytes > buffer.length) {
                flush();
            }
            return bytes <= buffer.length;
        }

        void flush() throws IOException {
            out.write(buffer, 0, used);
            used = 0;
        }
    }

    private interface Body {
        void write(OutputStream out) throws IOException;
    }

    private static void replace(Path target, Body body) {
        Path temp = target.resolveSibling(target.getFileName() + ".tmp");
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(temp), 1 << 16)) {
                body.write(out);
            }
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target, e);
        }
    }
}
