package dev.drover.slurm;

import io.micrometer.core.instrument.MeterRegistry;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs the SLURM query and control commands (squeue, scontrol, sacct, scancel) as argv lists, never through a shell,
 * with a time limit. Every call is counted in the meter {@value #CALLS}{command} and every failed one in
 * {@value #FAILURES}{command}: the calls per minute a cluster's admins ration, and what tests check the polling
 * budget by. sbatch is not run here (it goes through camel-exec, route {@code slurm-sbatch}) but is counted here.
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

    /** The meter counting SLURM command calls, tagged {@code command} (sbatch, squeue, scontrol, sacct, scancel). */
    public static final String CALLS = "drover.slurm.calls";
    /** The meter counting the calls that failed (non-zero exit, no answer in time), tagged {@code command}. */
    public static final String FAILURES = "drover.slurm.call.failures";

    private final Duration timeout;
    private final MeterRegistry meters;

    public SlurmCommands(Duration timeout, MeterRegistry meters) {
        this.timeout = timeout;
        this.meters = meters;
    }

    /** Counts one call of {@code command} and how it ended. */
    void count(String command, boolean ok) {
        meters.counter(CALLS, "command", command).increment();
        if (!ok) {
            meters.counter(FAILURES, "command", command).increment();
        }
    }

    /** Runs one command; {@code command} is its name in the meters (argv[0] may be any path). */
    public Result run(String command, List<String> argv) {
        Result result = run(argv);
        count(command, result.ok());
        return result;
    }

    private Result run(List<String> argv) {
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
            // the reason users read: the cause's own words (e.g. "Cannot run program ..."), not a class name
            return new Result(-1, "", e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName());
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
