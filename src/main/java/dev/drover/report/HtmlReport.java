package dev.drover.report;

import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * report.html: one self-contained page about a finished run (no network: its CSS and script are inlined), read from
 * report.json and plan.json. The summary, the efficiency advice and the failed tasks with their log tails are plain
 * HTML; the timeline and the histograms are drawn by a small script from figures computed here, so the page's size
 * does not grow with the task count (bounded by {@link Timeline} and {@link RunFacts#FAILED_KEPT}).
 */
public final class HtmlReport {

    public static final String FILE = "report.html";
    static final int BINS = 40;
    private static final int TAIL_BYTES = 2048;
    private static final int TAIL_LINES = 20;
    private static final int REASONS_SHOWN = 10;
    /** Failed tasks whose log tail shows without a click. */
    private static final int OPENED = 3;
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private HtmlReport() {
    }

    /** Writes {@code runDir/report.html}, or {@code target} when given; returns the file written. */
    public static Path write(Path runDir, Path target) throws IOException {
        String page;
        synchronized (Efficiency.ONE_AT_A_TIME) {
            RunFacts run = RunFacts.read(runDir);
            Efficiency efficiency = Efficiency.of(run);
            Efficiency.remember(runDir, efficiency);
            page = render(run, efficiency);
        }
        Path file = target != null ? target : runDir.resolve(FILE);
        Path temp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(temp, page, StandardCharsets.UTF_8);
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return file;
    }

    static String render(RunFacts run, Efficiency efficiency) throws IOException {
        StringBuilder page = new StringBuilder(64 * 1024);
        page.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
                .append("<title>").append(esc(run.name == null ? run.runId : run.name)).append(" · ")
                .append(esc(run.runState)).append(" · drover</title><style>").append(resource("report.css"))
                .append("</style></head><body><main>\n");
        header(page, run);
        advice(page, run, efficiency);
        page.append("<section><h2>Timeline</h2><canvas id=\"timeline\"></canvas>").append(legend())
                .append("<p class=\"caption\">").append(timelineCaption(run)).append("</p></section>\n");
        page.append("<section><h2>Distributions</h2><div class=\"charts\"><div><b>Duration</b> (")
                .append(efficiency.measured() > 0 ? "measured wall time" : "from start to end")
                .append(")<canvas id=\"hist-duration\"></canvas></div>");
        if (efficiency.peakRss().max() >= 0) {
            page.append("<div><b>Peak memory</b> (max RSS)<canvas id=\"hist-memory\"></canvas></div>");
        }
        page.append("</div><p class=\"caption\">green: succeeded, red: failed.</p></section>\n");
        failures(page, run);
        page.append("</main><div id=\"tip\"></div>\n<script type=\"application/json\" id=\"report-data\">")
                .append(data(run)).append("</script>\n<script>").append(resource("report.js"))
                .append("</script></body></html>\n");
        return page.toString();
    }

    private static void header(StringBuilder page, RunFacts run) {
        page.append("<h1>").append(esc(run.name)).append(" <span class=\"state s-").append(esc(run.runState))
                .append("\" id=\"run-state\">").append(esc(run.runState)).append("</span></h1><div class=\"meta\">")
                .append("<span>run <code>").append(esc(run.runId)).append("</code></span>")
                .append("<span>strategy ").append(esc(run.strategy)).append("</span>");
        if (run.acceptedAt != null) {
            page.append("<span>accepted ").append(run.acceptedAt).append("</span>");
        }
        if (run.acceptedAt != null && run.finishedAt != null) {
            page.append("<span>took ").append(Efficiency.duration(
                    Duration.between(run.acceptedAt, run.finishedAt).toMillis() / 1000.0)).append("</span>");
        }
        if (run.rerunOf != null) {
            page.append("<span>rerun of <code>").append(esc(run.rerunOf)).append("</code></span>");
        }
        page.append("</div><div class=\"counts\">");
        count(page, "total", "tasks", run.taskCount());
        for (String state : List.of("succeeded", "failed", "cancelled")) {
            count(page, state, state, run.count(state));
        }
        page.append("</div>\n");
    }

    private static void count(StringBuilder page, String id, String label, int n) {
        page.append("<div class=\"count ").append(id).append("\" id=\"count-").append(id).append("\"><b>").append(n)
                .append("</b>").append(label).append("</div>");
    }

    private static void advice(StringBuilder page, RunFacts run, Efficiency e) {
        page.append("<section><h2>Efficiency</h2>");
        if (!e.advice().isEmpty()) {
            page.append("<ul class=\"advice\" id=\"advice\">");
            e.advice().forEach(line -> page.append("<li>").append(esc(line)).append("</li>"));
            page.append("</ul>");
        }
        page.append("<table class=\"figures\">");
        row(page, "tasks measured", e.measured() + " of " + e.ended() + " that ended"
                + (e.measured() == 0 ? " (no usage figures in this report: durations are from start and end)" : ""));
        Efficiency.Spread wall = e.wall();
        if (!Double.isNaN(wall.max())) {
            row(page, "wall time p50 / p95 / max", Efficiency.duration(wall.p50()) + " / "
                    + Efficiency.duration(wall.p95()) + " / " + Efficiency.duration(wall.max()));
        }
        Efficiency.Spread rss = e.peakRss();
        if (!Double.isNaN(rss.max())) {
            row(page, "peak memory p50 / p95 / max", Efficiency.bytes(rss.p50()) + " / " + Efficiency.bytes(rss.p95())
                    + " / " + Efficiency.bytes(rss.max()));
        }
        if (!Double.isNaN(e.cpuEfficiency())) {
            row(page, "CPU efficiency", Efficiency.percent(e.cpuEfficiency()) + " of " + e.cpus() + " CPU"
                    + (e.cpus() > 1 ? "s" : "") + " per task");
        }
        if (!Double.isNaN(e.memEfficiency())) {
            row(page, "memory efficiency", Efficiency.percent(e.memEfficiency()) + " of "
                    + (run.memMib != null ? "the memory each task was granted" : "mem=" + run.resources.get("mem"))
                    + " on average");
        }
        if (e.suggestedMem() != null || e.suggestedTime() != null) {
            row(page, "suggested for a cluster run", (e.suggestedMem() != null ? "mem=" + e.suggestedMem() + " " : "")
                    + (e.suggestedTime() != null ? "time=" + e.suggestedTime() : ""));
        }
        page.append("</table></section>\n");
    }

    private static void row(StringBuilder page, String name, String value) {
        page.append("<tr><td>").append(esc(name)).append("</td><td>").append(esc(value)).append("</td></tr>");
    }

    private static String legend() {
        StringBuilder legend = new StringBuilder("<p class=\"legend\">");
        Map<String, String> colors = Map.of("SUCCEEDED", "#2e9e5b", "FAILED", "#d64545", "CANCELLED", "#8a8f98",
                "RUNNING", "#3b7dd8");
        for (String state : List.of("SUCCEEDED", "FAILED", "CANCELLED", "RUNNING")) {
            legend.append("<span><i style=\"background:").append(colors.get(state)).append("\"></i>")
                    .append(state.toLowerCase()).append("</span>");
        }
        return legend.append("</p>").toString();
    }

    private static String timelineCaption(RunFacts run) {
        int started = (int) java.util.stream.IntStream.range(0, run.taskCount()).filter(i -> run.startedAt[i] > 0)
                .count();
        if (started == 0) {
            return "No task started.";
        }
        return started <= Timeline.BARS_MAX
                ? "One bar per task, on the first slot free when it started (slots: what ran side by side)."
                : started + " tasks: each row is a group of slots, each column 1/" + Timeline.COLUMNS + " of the run;"
                + " a cell takes the colour of the state that filled most of it, darker when busier. Above: tasks"
                + " running over time.";
    }

    private static void failures(StringBuilder page, RunFacts run) {
        int failed = run.count("failed");
        page.append("<section id=\"failed\"><h2>Failed tasks (").append(failed).append(")</h2>");
        if (failed == 0) {
            page.append("<p>None.</p></section>\n");
            return;
        }
        page.append("<table><tr><th>tasks</th><th>reason</th></tr>");
        run.failureReasons.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
                .limit(REASONS_SHOWN).forEach(r -> page.append("<tr><td>").append(r.getValue()).append("</td><td>")
                        .append(esc(r.getKey())).append("</td></tr>"));
        page.append("</table>");
        int opened = 0;
        for (RunFacts.Failed task : run.failed) {
            page.append(opened++ < OPENED ? "<details open>" : "<details>").append("<summary><code>").append(esc(task.id())).append("</code> exit ")
                    .append(task.exitCode() == null ? "-" : task.exitCode()).append(", ").append(task.attempts())
                    .append(task.attempts() == 1 ? " attempt" : " attempts");
            if (task.reason() != null) {
                page.append(": ").append(esc(task.reason()));
            }
            page.append("</summary>");
            if (task.log() != null) {
                page.append("<div class=\"caption\">").append(esc(task.log())).append(", last lines:</div><pre>")
                        .append(esc(tail(run.dir, task.log()))).append("</pre>");
            }
            page.append("</details>");
        }
        if (failed > run.failed.size()) {
            page.append("<p>and ").append(failed - run.failed.size()).append(" more: <code>drover logs ")
                    .append(esc(run.runId)).append(" --failed</code></p>");
        }
        page.append("</section>\n");
    }

    /** The last lines of a task's log inside the run directory, without control characters. */
    static String tail(Path runDir, String log) {
        Path file = runDir.resolve(log).normalize();
        if (!file.startsWith(runDir.normalize())) {
            return "(log outside the run directory)";
        }
        try (FileChannel channel = FileChannel.open(file)) {
            long size = channel.size();
            ByteBuffer tail = ByteBuffer.allocate((int) Math.min(size, TAIL_BYTES));
            channel.read(tail, size - tail.capacity());
            String text = new String(tail.array(), 0, tail.position(), StandardCharsets.UTF_8)
                    .replaceAll("[\\p{Cntrl}&&[^\n\t]]", "").stripTrailing();
            String[] lines = text.split("\n", -1);
            int from = Math.max(size > TAIL_BYTES ? 1 : 0, lines.length - TAIL_LINES); // the first may be cut
            String shown = String.join("\n", java.util.Arrays.copyOfRange(lines, from, lines.length));
            return shown.isEmpty() ? "(no output)" : shown;
        } catch (IOException e) {
            return "(no log: " + e.getClass().getSimpleName() + ")";
        }
    }

    private static String data(RunFacts run) throws IOException {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("states", RunFacts.STATES);
        data.put("timeline", Timeline.of(run));
        Map<String, Object> histograms = new LinkedHashMap<>();
        histograms.put("duration", histogram(run, run::duration));
        histograms.put("memory", histogram(run, i -> run.maxRssBytes[i] < 0 ? Double.NaN : run.maxRssBytes[i]));
        data.put("histograms", histograms);
        // "<" only occurs inside JSON strings, where \u003c means the same: no "</script>" can end the block early
        return JSON.writeValueAsString(data).replace("<", "\\u003c");
    }

    /** Counts of ended tasks in {@link #BINS} equal bins from 0 to the largest value: [succeeded, failed] per bin. */
    private static Map<String, Object> histogram(RunFacts run, java.util.function.IntToDoubleFunction figure) {
        double max = 0;
        boolean any = false;
        for (int i = 0; i < run.taskCount(); i++) {
            double v = figure.applyAsDouble(i);
            if (ended(run, i) && !Double.isNaN(v)) {
                max = Math.max(max, v);
                any = true;
            }
        }
        if (!any) {
            return null;
        }
        int[][] bins = new int[BINS][2];
        for (int i = 0; i < run.taskCount(); i++) {
            double v = figure.applyAsDouble(i);
            if (ended(run, i) && !Double.isNaN(v)) {
                int bin = max == 0 ? 0 : Math.min(BINS - 1, (int) (v / max * BINS));
                bins[bin][RunFacts.STATES.get(run.state[i]).equals("SUCCEEDED") ? 0 : 1]++;
            }
        }
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("from", 0);
        h.put("to", max);
        h.put("bins", bins);
        return h;
    }

    private static boolean ended(RunFacts run, int i) {
        String state = RunFacts.STATES.get(run.state[i]);
        return state.equals("SUCCEEDED") || state.equals("FAILED");
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = HtmlReport.class.getResourceAsStream("/report/" + name)) {
            if (in == null) {
                throw new UncheckedIOException(new IOException("report/" + name + " is missing from drover's jar"));
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static String esc(String text) {
        if (text == null) {
            return "-";
        }
        StringBuilder out = new StringBuilder(text.length() + 16);
        for (char c : text.toCharArray()) {
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
