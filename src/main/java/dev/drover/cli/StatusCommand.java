package dev.drover.cli;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.report.HtmlReport;
import dev.drover.run.Escalations;
import dev.drover.serve.RunStatus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** `drover status`: what the runs directory says about every run, or one. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = {"Show the runs in a runs directory (counts of tasks by state), or one run in detail with where"
                + " its logs and report are. Reads the run directories only: works beside a running drover serve.",
                "A run without report.json shows as RUNNING, also when the drover that ran it has stopped."})
final class StatusCommand implements Callable<Integer> {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Parameters(index = "0", arity = "0..1", paramLabel = "RUN_ID", description = "One run (default: all runs).")
    String runId;

    @Mixin
    RunsDirOption runsDir;

    @Option(names = "--json", description = "Print JSON, for scripts.")
    boolean json;

    @Option(names = "--watch", description = "With RUN_ID: counts, rate and time left, refreshed in place until the"
            + " run ends (a line per change when not on a terminal); then exit as drover run would: 0, 1 or 130.")
    boolean watch;

    @Option(names = "--interval", paramLabel = "SECONDS", defaultValue = "2",
            description = "--watch: seconds between refreshes (default: ${DEFAULT-VALUE}).")
    double interval;

    @Override
    public Integer call() throws Exception {
        Path dir = runsDir.resolve();
        if (runId != null) {
            Path runDir = RunArgument.find(dir, runId); // the one rule: no "..", "." or ".events" is a run
            if (runDir == null) {
                System.err.println("drover: no run " + runId + " in " + dir);
                return ErrorHandler.USAGE;
            }
            if (watch) {
                return new StatusWatch(runDir, interval, System.console() != null, System.out).follow();
            }
            RunStatus run = RunStatus.read(runDir);
            RerunChain chain = RerunChain.of(run, dir);
            if (json) {
                Map<String, Object> map = new LinkedHashMap<>(run.toMap());
                map.put("rerunOf", chain.rerunOf());
                map.put("reruns", chain.reruns().stream().map(RunStatus::runId).toList());
                System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(map));
            } else {
                printOne(run);
                chain.print(System.out);
            }
            return 0;
        }
        if (watch) {
            System.err.println("drover: --watch follows one run: drover status RUN_ID --watch");
            return ErrorHandler.USAGE;
        }
        List<RunStatus> runs = RunStatus.all(dir);
        if (json) {
            Map<String, Object> all = new LinkedHashMap<>();
            all.put("runsDir", dir.toString());
            all.put("runs", runs.stream().map(RunStatus::toMap).toList());
            System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(all));
            return 0;
        }
        if (runs.isEmpty()) {
            System.out.println("no runs in " + dir);
            return 0;
        }
        int width = Math.max(6, runs.stream().mapToInt(r -> r.runId().length()).max().orElse(6));
        String format = "%-" + width + "s  %-9s  %7s  %9s  %6s  %9s  %7s  %7s  %s%n";
        System.out.printf(format, "RUN", "STATE", "TASKS", "SUCCEEDED", "FAILED", "CANCELLED", "RUNNING", "PENDING",
                "ACCEPTED");
        for (RunStatus run : runs) {
            System.out.printf(format, run.runId(), state(run), run.tasks(), run.counts().get("succeeded"),
                    run.counts().get("failed"), run.counts().get("cancelled"), run.counts().get("running"),
                    run.counts().get("pending"), run.acceptedAt() == null ? "-" : run.acceptedAt());
        }
        System.out.println("runs in " + dir);
        return 0;
    }

    private static String state(RunStatus run) {
        return !run.finished() && run.cancelRequested() ? "CANCELLING" : run.state();
    }

    /**
     * A finished run's counts from its report.json, which has them before its tasks; the journal (a million-task
     * run's is 150 MB: seconds to replay) only for a run without a report yet.
     */
    private static Escalations escalations(RunStatus run) {
        if (run.finished()) {
            try (JsonParser json = JSON.getFactory().createParser(run.report().toFile())) {
                int escalated = -1;
                int requeued = -1;
                json.nextToken();
                while (json.nextToken() == JsonToken.FIELD_NAME && (escalated < 0 || requeued < 0)) {
                    String field = json.currentName();
                    JsonToken value = json.nextToken();
                    if (field.equals("escalated") && value.isNumeric()) {
                        escalated = json.getIntValue();
                    } else if (field.equals("requeued") && value.isNumeric()) {
                        requeued = json.getIntValue();
                    } else {
                        json.skipChildren();
                    }
                }
                if (escalated >= 0 && requeued >= 0) {
                    return new Escalations(escalated, requeued);
                }
            } catch (java.io.IOException unreadable) {
                // a report from before these counts, or damaged: the journal says the same
            }
        }
        return Escalations.read(run.dir());
    }

    private static void printOne(RunStatus run) {
        Map<String, Integer> c = run.counts();
        System.out.printf("run       %s%n", run.runId());
        System.out.printf("state     %s%n", state(run));
        System.out.printf("strategy  %s%n", run.strategy() == null ? "-" : run.strategy());
        System.out.printf("tasks     %d: %d succeeded, %d failed, %d cancelled, %d running, %d pending%s%n", run.tasks(),
                c.get("succeeded"), c.get("failed"), c.get("cancelled"), c.get("running"), c.get("pending"),
                escalations(run).describe());
        System.out.printf("accepted  %s%n", run.acceptedAt() == null ? "-" : run.acceptedAt());
        if (run.finishedAt() != null) {
            System.out.printf("finished  %s%n", run.finishedAt());
        }
        System.out.printf("dir       %s%n", run.dir());
        System.out.printf("logs      %s%n", run.logs());
        if (run.finished()) {
            System.out.printf("report    %s%n", run.report());
            Path page = run.dir().resolve(HtmlReport.FILE);
            System.out.printf("page      %s%n", Files.exists(page) ? page : "none yet: drover report " + run.runId());
        }
    }
}
