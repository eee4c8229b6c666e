package dev.drover.cli;

import dev.drover.run.RunReport;

import java.nio.file.Files;
import java.nio.file.Path;

/** For the commands that read a finished run (report, rerun): its directory, or why there is none. */
final class FinishedRuns {

    private FinishedRuns() {
    }

    /** The run's directory when it has a report.json; null after saying on stderr why not (the caller exits 2). */
    static Path find(Path runsDir, String runId) {
        Path runDir = runsDir.resolve(runId).normalize();
        if (!runsDir.equals(runDir.getParent()) || !Files.isDirectory(runDir)) {
            System.err.println("drover: no run " + runId + " in " + runsDir + " (drover status --runs-dir " + runsDir
                    + " lists them)");
            return null;
        }
        if (!Files.isRegularFile(runDir.resolve(RunReport.FILE))) {
            System.err.println("drover: run " + runId + " has not finished: no report.json yet (drover status "
                    + runId + " --watch follows it)");
            return null;
        }
        return runDir;
    }
}
