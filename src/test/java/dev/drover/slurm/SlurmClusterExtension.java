package dev.drover.slurm;

import dev.drover.Await;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Starts the project's single-node SLURM cluster (src/test/slurm/start-local-slurm.sh: installs the Debian packages
 * if missing, writes slurm.conf, starts munged, slurmctld and slurmd, waits for the node) once per test JVM. The
 * SLURM tests never skip: if the cluster cannot start (not root, no apt, ...) they fail with the script's output.
 * The cluster is left running after the tests (stop it with src/test/slurm/stop-local-slurm.sh).
 */
public final class SlurmClusterExtension implements BeforeAllCallback {

    /** The test cluster's MaxArraySize: low, so that 25 tasks already make three arrays. */
    public static final int MAX_ARRAY_SIZE = 10;
    public static final Path SCRIPTS = Path.of("src/test/slurm").toAbsolutePath();

    private static String failure;
    private static boolean started;

    @Override
    public void beforeAll(ExtensionContext context) {
        ensureStarted();
    }

    public static synchronized void ensureStarted() {
        if (!started && failure == null) {
            failure = start();
            started = failure == null;
        }
        if (failure != null) {
            throw new IllegalStateException(failure);
        }
    }

    private static String start() {
        Path log;
        try {
            log = Files.createTempFile("start-local-slurm", ".log");
        } catch (IOException e) {
            return "cannot create a temporary file: " + e;
        }
        ProcessBuilder builder = new ProcessBuilder("bash", SCRIPTS.resolve("start-local-slurm.sh").toString());
        builder.environment().put("SLURM_LOCAL_MAX_ARRAY_SIZE", Integer.toString(MAX_ARRAY_SIZE));
        // memory limits enforced as a real cluster does (a task over its mem ends OUT_OF_MEMORY) and slurmdbd, so
        // that plain sacct answers as on a production cluster (usage figures, states after the purge)
        builder.environment().put("SLURM_LOCAL_MEM_ENFORCE", "cgroup");
        builder.environment().put("SLURM_LOCAL_ACCOUNTING", "dbd");
        builder.redirectErrorStream(true).redirectOutput(log.toFile());
        try {
            Process process = builder.start();
            if (!process.waitFor(10, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                return "start-local-slurm.sh did not finish within 10 minutes:\n" + read(log);
            }
            String output = read(log);
            if (process.exitValue() != 0) {
                return "the SLURM tests need a local SLURM cluster, and start-local-slurm.sh failed (exit "
                        + process.exitValue() + "; it must run as root with apt-get):\n" + output;
            }
            System.err.print(output);
            return null;
        } catch (IOException e) {
            return "cannot run start-local-slurm.sh: " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while starting the SLURM cluster";
        }
    }

    /** Restarts slurmctld only (state is kept): stops it by its pid file, then runs the start script again. */
    public static void stopController() throws Exception {
        String pid = Files.readString(Path.of("/run/slurm-local/slurmctld.pid")).strip();
        new ProcessBuilder("kill", "-TERM", pid).inheritIO().start().waitFor();
        Await.until("slurmctld " + pid + " stopped", Duration.ofSeconds(10), () -> !isRunning(pid));
    }

    public static void startAgain() {
        started = false;
        ensureStarted();
    }

    private static boolean isRunning(String pid) {
        try {
            String stat = Files.readString(Path.of("/proc", pid, "stat"));
            String state = stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
            return !state.equals("Z") && !state.equals("X");
        } catch (IOException e) {
            return false;
        }
    }

    private static String read(Path log) {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }
}
