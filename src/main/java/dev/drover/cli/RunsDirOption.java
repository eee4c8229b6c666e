package dev.drover.cli;

import dev.drover.camel.DroverRuntime;
import dev.drover.manifest.ManifestException;
import dev.drover.run.Settings;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;

/** --runs-dir for the commands that read run directories (status, cancel). */
final class RunsDirOption {

    @Option(names = "--runs-dir", paramLabel = "DIR",
            description = "The runs directory of the drover that owns the runs (default: drover.runs-dir in"
                    + " config/application.properties).")
    Path runsDir;

    Path resolve() {
        return runsDir != null ? runsDir.toAbsolutePath() : Settings.load(DroverRuntime.home()).runsDir();
    }

    /** The runs directory of a new run (the flag, else the configuration), created now so that a bad one is refused. */
    static Path create(Path flag) {
        String field = flag != null ? "--runs-dir" : "drover.runs-dir";
        Path dir = flag != null ? flag.toAbsolutePath() : Settings.load(DroverRuntime.home()).runsDir();
        try {
            Files.createDirectories(dir);
            if (!Files.isWritable(dir)) {
                throw new ManifestException(field, "cannot use " + dir + ": permission denied");
            }
            return dir;
        } catch (FileSystemException e) {
            throw new ManifestException(field, "cannot use " + dir + ": " + ErrorHandler.reason(e));
        } catch (IOException e) {
            throw new ManifestException(field, "cannot use " + dir + ": " + e.getMessage());
        }
    }
}
