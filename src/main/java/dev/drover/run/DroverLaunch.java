package dev.drover.run;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where drover-launch (src/main/c/drover-launch.c) is: local slots start their tasks through it, SLURM array
 * elements run each task under it ({@code --once}) to measure what it used.
 */
public final class DroverLaunch {

    public static final String PROGRAM = "drover-launch";

    private DroverLaunch() {
    }

    /**
     * The program's absolute path, or null.
     *
     * @param setting {@code auto} (drover-launch beside drover's jar or classes, else on the PATH), {@code none}, or
     *                the program's path
     */
    public static String locate(String setting) {
        if (setting.equals("none")) {
            return null;
        }
        if (!setting.equals("auto")) {
            return executable(Path.of(setting));
        }
        try {
            // target/drover.jar or target/classes: the program is built into target/
            Path code = Path.of(DroverLaunch.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            String beside = executable(code.resolveSibling(PROGRAM));
            if (beside != null) {
                return beside;
            }
        } catch (Exception e) {
            // no code location: look on the PATH
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            String found = dir.isEmpty() ? null : executable(Path.of(dir, PROGRAM));
            if (found != null) {
                return found;
            }
        }
        return null;
    }

    private static String executable(Path file) {
        return Files.isRegularFile(file) && Files.isExecutable(file) ? file.toAbsolutePath().toString() : null;
    }
}
