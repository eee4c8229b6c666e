package dev.drover.report;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's headless Chromium driven from its command line, as a user's browser opens a file: the DOM after the
 * page's scripts ran, every console message (errors included), and a screenshot. .ci/run installs the package.
 */
final class HeadlessChromium {

    private static final List<String> BINARIES = List.of("/usr/bin/chromium-headless-shell", "/usr/bin/chromium");

    /** What the page became: its DOM after load, the console lines it printed, and how long the browser took. */
    record Loaded(String dom, List<String> console, long millis) {
    }

    private final Path binary;
    private final Path profile;

    HeadlessChromium(Path scratch) throws Exception {
        binary = BINARIES.stream().map(Path::of).filter(Files::isExecutable).findFirst().orElseThrow(() ->
                new AssertionError("no headless Chromium: apt-get install chromium-headless-shell (.ci/run does)"));
        profile = Files.createDirectories(scratch.resolve("chromium-profile"));
    }

    Loaded load(Path html) throws Exception {
        long started = System.nanoTime();
        Run run = run("--enable-logging=stderr", "--v=0", "--dump-dom", html.toUri().toString());
        List<String> console = run.stderr().lines().filter(line -> line.contains(":CONSOLE")).toList();
        return new Loaded(run.stdout(), console, (System.nanoTime() - started) / 1_000_000);
    }

    /** A PNG of the page at a desktop size. */
    Path screenshot(Path html, Path png, int height) throws Exception {
        Files.deleteIfExists(png);
        run("--window-size=1280," + height, "--screenshot=" + png, html.toUri().toString());
        if (!Files.isRegularFile(png)) {
            throw new AssertionError("no screenshot written to " + png);
        }
        return png;
    }

    private record Run(String stdout, String stderr) {
    }

    private Run run(String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(binary.toString(), "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--user-data-dir=" + profile));
        argv.addAll(List.of(args));
        Path out = Files.createTempFile(profile, "out", ".txt");
        Path err = Files.createTempFile(profile, "err", ".txt");
        Process browser = new ProcessBuilder(argv).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!browser.waitFor(120, TimeUnit.SECONDS)) {
            browser.destroyForcibly();
            throw new AssertionError("chromium did not finish within 120 s: " + argv);
        }
        if (browser.exitValue() != 0) {
            throw new AssertionError("chromium exited " + browser.exitValue() + ": " + Files.readString(err));
        }
        return new Run(Files.readString(out), Files.readString(err));
    }
}
