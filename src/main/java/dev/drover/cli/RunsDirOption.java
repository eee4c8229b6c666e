package dev.drover.cli;

import dev.drover.camel.DroverRuntime;
import dev.drover.serve.Settings;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** --runs-dir for the commands that read run directories (status, cancel). */
final class RunsDirOption {

    @Option(names = "--runs-dir", paramLabel = "DIR",
            description = "The runs directory of the drover that owns the runs (default: drover.runs-dir in config,"
                    + " ./drover-runs).")
    Path runsDir;

    Path resolve() {
        Path dir = runsDir != null ? runsDir
                : Path.of(Settings.load(DroverRuntime.home()).get("drover.runs-dir", "drover-runs"));
        return dir.toAbsolutePath();
    }
}
