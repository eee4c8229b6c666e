package dev.drover.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.report.Efficiency;
import dev.drover.report.HtmlReport;
import dev.drover.report.Rerun;
import dev.drover.report.RunFacts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A run of more than {@link RunReport#INLINE_TASKS} tasks keeps its tasks in tasks.jsonl: its measured usage, the
 * efficiency figures and advice, the HTML page and `drover rerun --failed` must come out of it as they do out of
 * report.json's own task list.
 */
class LargeRunReportTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final long MIB = 1L << 20;

    @TempDir
    Path tmp;

    /**
     * Every task but one ends (those at 7 mod 1000 fail, with a reason that needs escaping), each with its usage: 1 to
     * 10 s, 50 to 149 MiB. Task 1 fails once first (its history has both attempts' usage); task 2 never starts.
     */
    private Run run(int size) {
        Run run = new RunRegistry(tmp).accept(RunPlan.resolve(ManifestReader.parse("""
                name: big
                command: [echo, '{item}']
                range: {start: 0, end: %d}
                """.formatted(size)), new RunOptions("slurm", null, "mem=1G")));
        run.taskStarted(1, 1);
        run.taskUsage(1, 1, new TaskUsage(500, 400, 300 * MIB));
        run.attemptFailed(1, 1, 137, "out of \"memory\"\n");
        for (int i = 0; i < size; i++) {
            if (i == 2) {
                continue;
            }
            int attempt = i == 1 ? 2 : 1;
            run.taskStarted(i, attempt);
            run.taskUsage(i, attempt, new TaskUsage(1000 + i % 10 * 1000, 500 + i % 10 * 100, (50 + i % 100) * MIB));
            boolean fails = i % 1000 == 7;
            run.taskFinished(i, attempt, fails ? TaskState.FAILED : TaskState.SUCCEEDED, fails ? 3 : 0,
                    fails ? "exit code 3\tafter \"x\"" : null);
        }
        return run;
    }

    @Test
    void tasksJsonlGivesTheSameFactsAdviceAndPageAsTheInlineReport() throws Exception {
        Run run = run(2500);
        RunReport.write(run, RunState.FAILED);
        Path inlinePage = HtmlReport.write(run.dir(), tmp.resolve("inline.html"));
        Efficiency inline = Efficiency.of(RunFacts.read(run.dir()));
        String finishedAt = JSON.readTree(run.dir().resolve(RunReport.FILE).toFile()).path("finishedAt").asText();

        RunReport.write(run, RunState.FAILED, 3);
        Path report = run.dir().resolve(RunReport.FILE);
        JsonNode written = JSON.readTree(report.toFile());
        assertEquals(RunReport.TASKS_FILE, written.path("tasksFile").asText());
        assertTrue(written.path("tasks").isMissingNode());
        // the same finishing time, so that the two pages can be compared byte for byte
        Files.writeString(report, Files.readString(report).replace(written.path("finishedAt").asText(), finishedAt));
        RunFacts facts = RunFacts.read(run.dir());
        assertEquals(2500, facts.taskCount());
        assertEquals(inline, Efficiency.of(facts));
        assertEquals(Files.readString(inlinePage), Files.readString(HtmlReport.write(run.dir(),
                tmp.resolve("rows.html"))), "the page from tasks.jsonl is the page from report.json");

        List<String> rows = Files.readAllLines(run.dir().resolve(RunReport.TASKS_FILE));
        assertEquals(RunReport.USAGE_FIGURES, JSON.convertValue(JSON.readTree(rows.get(0)).path("usage"),
                JSON.getTypeFactory().constructCollectionType(List.class, String.class)));
        assertTrue(rows.get(1).endsWith("Z\",[1,0.5,52428800]]"), "usage as an array, trailing nulls left out: "
                + rows.get(1));
        JsonNode retried = JSON.readTree(rows.get(2));
        assertEquals(2, retried.path(RunReport.COLUMNS.indexOf("history")).size(), retried.toString());
        assertEquals("[\"0002\",2,\"PENDING\",null,0,null,null]", rows.get(3), "ids are padded to the run's size");
    }

    @Test
    void aRunOverTheInlineLimitHasItsEfficiencyAdviceFailuresAndRerunFromTasksJsonl() throws Exception {
        int size = RunReport.INLINE_TASKS + 1;
        Run run = run(size);
        run.cancel(); // task 2, never started: the run ends
        assertTrue(Files.exists(run.dir().resolve(RunReport.TASKS_FILE)), "a run this large writes tasks.jsonl");

        RunFacts facts = RunFacts.read(run.dir());
        assertEquals(size, facts.taskCount());
        assertEquals(100, facts.count("failed"));
        Efficiency efficiency = Efficiency.of(facts);
        assertEquals(size - 1, efficiency.measured());
        assertEquals(149 * MIB, efficiency.peakRss().max(), 0.0);
        assertEquals(10.0, efficiency.wall().max(), 0.0);
        assertEquals("mem=1G is 6.9x more than the largest task used (149M); try mem=180M",
                Efficiency.adviceFor(run.dir()));

        String page = Files.readString(HtmlReport.write(run.dir(), null));
        assertTrue(page.contains("<b>Peak memory</b>"), "a memory histogram");
        assertTrue(page.contains("<td>100</td><td>exit code 3\tafter &quot;x&quot;</td>"), "failures by reason");
        assertTrue(page.contains("<summary><code>000007</code> exit 3, 1 attempt: exit code 3"), "the failed tasks");
        assertTrue(page.contains("logs/000007.log, last lines:"), "where their logs are, from tasks.jsonl's header");

        JsonNode rerun = JSON.readTree(Rerun.manifest(run.dir(), Set.of("FAILED"), List.of()));
        List<String> ids = rerun.path("tasks").findValuesAsText("id");
        assertEquals(100, ids.size(), "drover rerun --failed finds the failed tasks in tasks.jsonl: " + ids);
        assertEquals("000007", ids.get(0));
        assertEquals("099007", ids.get(99));
    }

}
