package dev.drover;

import dev.drover.run.Journal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code bin/drover} started as a user starts it, for the tests that kill it and start it again. Each process writes
 * its output to a log file of its own; {@link #close} kills whatever is still running.
 */
public final class DroverProcesses implements AutoCloseable {

    private final Path logs;
    private final List<Process> started = new ArrayList<>();

    public DroverProcesses(Path logs) {
        this.logs = logs;
    }

    /** Starts {@code bin/drover ARGS} with its output in {@code log}. */
    public Process start(String log, String... args) throws Exception {
        return start(false, Map.of(), log, args);
    }

    /**
     * Starts {@code bin/drover ARGS} as a terminal starts a foreground job: leading a process group of its own (its pid
     * is the group's id), so that {@link #interruptGroup} can play Ctrl-C on it without hitting the test.
     */
    public Process startInOwnGroup(Map<String, String> env, String log, String... args) throws Exception {
        return start(true, env, log, args);
    }

    private Process start(boolean ownGroup, Map<String, String> env, String log, String... args) throws Exception {
        List<String> argv = new ArrayList<>();
        if (ownGroup) {
            // SIGINT as a terminal leaves it (a shell that started the build in the background ignores it); the test
            // JVM's child leads no group, so setsid execs in place: same pid
            argv.addAll(List.of("env", "--default-signal=INT", "setsid"));
        }
        argv.add(TestPipeline.HOME.resolve("bin/drover").toString());
        argv.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectOutput(logs.resolve(log).toFile());
        builder.environment().putAll(env);
        Process p = builder.start();
        started.add(p);
        return p;
    }

    /** What a terminal does on Ctrl-C: SIGINT to every process of the group {@code leader} leads. */
    public static void interruptGroup(Process leader) throws Exception {
        Process kill = new ProcessBuilder("kill", "-INT", "--", "-" + leader.pid()).inheritIO().start();
        if (kill.waitFor() != 0) {
            throw new AssertionError("kill -INT -" + leader.pid() + " failed");
        }
    }

    public String log(String log) throws Exception {
        return Files.readString(logs.resolve(log));
    }

    /** kill -9, and wait until it is gone. */
    public static void kill(Process drover) throws Exception {
        drover.destroyForcibly();
        if (!drover.waitFor(10, TimeUnit.SECONDS)) {
            throw new AssertionError("drover did not die");
        }
    }

    /** The first run directory to appear in {@code runs}. */
    public static Path awaitRunDir(Path runs) throws Exception {
        return Await.value("a run started in " + runs, java.time.Duration.ofSeconds(60), () -> {
            if (!Files.isDirectory(runs)) {
                return null;
            }
            try (Stream<Path> list = Files.list(runs)) {
                return list.findFirst().orElse(null);
            }
        });
    }

    /** Indices of the tasks whose end the run's journal records. */
    public static Set<Integer> endedTasks(Path runDir) {
        return endedTasks(Journal.read(runDir));
    }

    public static Set<Integer> endedTasks(List<String[]> journal) {
        Set<Integer> ended = new HashSet<>();
        for (String[] line : journal) {
            if (line[0].equals("end") && line.length > 2) {
                ended.add(Integer.parseInt(line[2]));
            }
        }
        return ended;
    }

    /** Waits (up to 60 s: a loaded machine starts serve slowly) until the journal records at least {@code count} ended tasks. */
    public static void awaitEnded(Path runDir, int count) throws InterruptedException {
        Await.within(java.time.Duration.ofSeconds(60), () -> endedTasks(runDir).size() >= count);
    }

    @Override
    public void close() {
        started.forEach(Process::destroyForcibly);
    }
}
