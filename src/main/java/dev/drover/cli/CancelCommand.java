package dev.drover.cli;

import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.manifest.ManifestException;
import dev.drover.run.Journal;
import dev.drover.run.RunRegistry;
import dev.drover.run.RunReport;
import dev.drover.slurm.SlurmCancel;
import dev.drover.slurm.SlurmCommands;
import dev.drover.slurm.SlurmSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;

/**
 * `drover cancel RUN_ID`: asks the drover process running a run to cancel it (a cancel-requested file in the run
 * directory, which that process watches; it scancels the run's SLURM jobs) and waits for the report. If no report
 * comes within --wait seconds (the process is gone), it scancels the SLURM jobs recorded in the run's journal itself.
 */
@Command(name = "cancel", mixinStandardHelpOptions = true,
        description = "Cancel a run started by `drover run` or `drover serve` (also from another shell)."
                + " Exit 0 once the run has ended, 1 if it did not end in time, 2 if there is no such run.")
final class CancelCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "RUN_ID", description = "The run's id (its directory name).")
    String runId;

    @Option(names = "--runs-dir", paramLabel = "DIR", defaultValue = "drover-runs",
            description = "Where the run directories are (default: ${DEFAULT-VALUE}).")
    Path runsDir;

    @Option(names = "--wait", paramLabel = "SECONDS", defaultValue = "60",
            description = "How long to wait for the run to end (default: ${DEFAULT-VALUE}).")
    int waitSeconds;

    @Override
    public Integer call() throws Exception {
        Path dir = runsDir.resolve(runId);
        if (runId.contains("/") || !Files.isRegularFile(dir.resolve(Journal.FILE))) {
            throw new ManifestException("RUN_ID", "no run '" + runId + "' in " + runsDir.toAbsolutePath()
                    + ": give a run directory's name, and --runs-dir if it is not ./drover-runs");
        }
        Path report = dir.resolve(RunReport.FILE);
        if (Files.exists(report)) {
            System.out.println("run " + runId + " has already ended: " + state(report));
            return 0;
        }
        Files.writeString(dir.resolve(RunRegistry.CANCEL_REQUEST), "cancel requested by drover cancel\n");
        long end = System.currentTimeMillis() + waitSeconds * 1000L;
        while (System.currentTimeMillis() < end) {
            if (Files.exists(report)) {
                System.out.println("run " + runId + " " + state(report));
                return 0;
            }
            Thread.sleep(250);
        }
        Set<String> jobs = new TreeSet<>();
        for (String[] line : Journal.read(dir)) {
            if (line[0].equals("backend") && line.length > 3 && line[3].matches("\\d+_\\d+")) {
                jobs.add(line[3].substring(0, line[3].indexOf('_')));
            }
        }
        if (!jobs.isEmpty()) {
            SlurmSettings settings = SlurmSettings.defaults();
            new SlurmCancel(settings, new SlurmCommands(settings.commandTimeout())).cancel(jobs);
            System.err.println("drover: run " + runId + " did not end within " + waitSeconds + " s (is its drover"
                    + " process gone?); scancelled its SLURM jobs " + jobs);
        } else {
            System.err.println("drover: run " + runId + " did not end within " + waitSeconds + " s");
        }
        return 1;
    }

    private static String state(Path report) throws java.io.IOException {
        return JsonMapper.builder().build().readTree(report.toFile()).path("state").asText();
    }
}
