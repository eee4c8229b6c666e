package dev.drover.slurm;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs the SLURM query and control commands (squeue, scontrol, sacct, scancel) as argv lists, never through a shell,
 * with a time limit; counts calls so that tests and the benchmark can check the polling budget. sbatch is not here:
 * it goes through camel-exec (route {@code slurm-sbatch}).
 */
public final class SlurmCommands {

    /** What a command printed and how it ended; rc -1 when it could not start or timed out. */
    public record Result(int rc, String out, String err) {
        public boolean ok() {
            return rc == 0;
        }

        public String message() {
            String text = (err.isBlank() ? out : err).strip();
            return text.isEmpty() ? "exit status " + rc : text;
        }
    }

    public static final AtomicLong SQUEUE_CALLS = new AtomicLong();
    public static final AtomicLong SCONTROL_CALLS = new AtomicLong();
    public static final AtomicLong SACCT_CALLS = new AtomicLong();
    public static final AtomicLong SCANCEL_CALLS = new AtomicLong();

    private final Duration timeout;

    public SlurmCommands(Duration timeout) {
        this.timeout = timeout;
    }

    public Result run(List<String> argv) {
        ProcessBuilder builder = new ProcessBuilder(argv);
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            return new Result(-1, "", "cannot run " + argv.get(0) + ": " + e.getMessage());
        }
        try {
            process.getOutputStream().close();
        } catch (IOException ignored) {
            // the command reads no input
        }
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(process.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(process.getErrorStream()));
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                return new Result(-1, "", argv.get(0) + " did not answer within " + timeout.toSeconds() + "s");
            }
            return new Result(process.exitValue(), out.get(), err.get());
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            return new Result(-1, "", "interrupted");
        } catch (Exception e) {
            return new Result(-1, "", e.toString());
        }
    }

    private static String read(InputStream stream) {
        try (stream) {
            return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
