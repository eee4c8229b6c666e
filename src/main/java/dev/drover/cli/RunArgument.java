package dev.drover.cli;

import dev.drover.run.RunRegistry;
import dev.drover.run.RunReport;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * RUN_ID and --runs-dir, for the commands about one run (cancel, logs, report, rerun, resume): the run's directory,
 * or a {@link ErrorHandler.UserError} saying in one line why there is none.
 */
final class RunArgument {

    @Parameters(index = "0", paramLabel = "RUN_ID", description = "The run (see drover status).")
    String id;

    @Mixin
    RunsDirOption runsDirOption;

    private Path runsDir;

    Path runsDir() {
        if (runsDir == null) {
            runsDir = runsDirOption.resolve();
        }
        return runsDir;
    }

    /** The run's directory, by the one rule of what a run is ({@link RunRegistry#runDirectory}). */
    Path dir() {
        Path runDir = find(runsDir(), id);
        if (runDir == null) {
            throw new ErrorHandler.UserError("no run " + id + " in " + runsDir() + " (drover status --runs-dir "
                    + runsDir() + " lists them)");
        }
        return runDir;
    }

    /** The directory of run {@code id} in {@code runsDir} as {@link #dir} finds it, or null if there is none. */
    static Path find(Path runsDir, String id) {
        return RunRegistry.runDirectory(runsDir, id);
    }

    /** The directory of the run, which has finished: it has its report.json. */
    Path finishedDir() {
        Path runDir = dir();
        if (!Files.isRegularFile(runDir.resolve(RunReport.FILE))) {
            throw new ErrorHandler.UserError("run " + id + " has not finished: no report.json yet (drover status " + id
                    + " --watch follows it)");
        }
        return runDir;
    }
}
