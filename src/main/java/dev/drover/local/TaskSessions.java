package dev.drover.local;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Each local task runs in a session of its own (started through util-linux {@code setsid}, which calls setsid(2)
 * and execs the task: no extra process), so that a terminal's Ctrl-C reaches drover only, and so that drover can
 * find every process of a task — including children forked while it is being killed — by its session id, which is
 * the task's pid. Linux reads: /proc/PID/stat for a process's session and start time.
 */
final class TaskSessions {

    private static final Logger LOG = LoggerFactory.getLogger(TaskSessions.class);
    /** How often the sessions are looked at again while they are being emptied. */
    private static final long POLL_MILLIS = 20;
    /** After SIGKILL, how long a session may take to empty before drover gives up on it (and says so). */
    private static final Duration KILL_WAIT = Duration.ofSeconds(10);
    private static final String SETSID = findSetsid();
    /** Sessions need setsid to make them and /proc to find their processes (Linux); elsewhere: process trees. */
    static final boolean SUPPORTED = SETSID != null && Files.isReadable(Path.of("/proc/self/stat"));
    /** Programs found on drover's PATH (what the JDK searches), by name; only hits are kept. */
    private static final Map<String, String> RESOLVED = new ConcurrentHashMap<>();

    private TaskSessions() {
    }

    private static String findSetsid() {
        for (String candidate : List.of("/usr/bin/setsid", "/bin/setsid")) {
            if (new File(candidate).canExecute()) {
                return candidate;
            }
        }
        LOG.warn("setsid (util-linux) not found: local tasks share drover's process group, so a terminal's Ctrl-C"
                + " reaches them, a task's children forked while it is killed can survive it, and tasks a killed drover"
                + " left running are not ended before its run is resumed");
        return null;
    }

    /**
     * The argv that starts {@code command} in a session of its own. The program is resolved here, as the JDK would,
     * so that a missing one is still reported as "cannot start" rather than as setsid's exit code.
     *
     * @throws IOException when the program cannot be found or run
     */
    static List<String> argv(List<String> command, File workdir) throws IOException {
        if (!SUPPORTED) {
            return command;
        }
        List<String> argv = new ArrayList<>(command.size() + 1);
        argv.add(SETSID);
        argv.add(resolve(command.get(0), workdir));
        argv.addAll(command.subList(1, command.size()));
        return argv;
    }

    /** The program's file, found as the JDK would (on drover's PATH, relative to the workdir). */
    static String resolve(String program, File workdir) throws IOException {
        if (program.contains("/")) {
            File file = new File(program).isAbsolute() || workdir == null ? new File(program) : new File(workdir, program);
            if (!file.isFile() || !file.canExecute()) {
                throw new IOException(file.isFile() ? "Permission denied" : "No such file or directory");
            }
            return file.getPath();
        }
        String known = RESOLVED.get(program);
        if (known != null) {
            return known;
        }
        String path = System.getenv().getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin");
        for (String dir : path.split(":", -1)) {
            File file = new File(dir.isEmpty() ? "." : dir, program);
            if (!file.isAbsolute() && workdir != null) {
                file = new File(workdir, file.getPath());
            }
            if (file.isFile() && file.canExecute()) {
                if (file.isAbsolute()) {
                    RESOLVED.put(program, file.getPath());
                }
                return file.getPath();
            }
        }
        throw new IOException("No such file or directory");
    }

    /** A process as /proc shows it: its handle (which kills only the process it was taken for), session, start. */
    record Proc(ProcessHandle handle, long session, long startTicks) {
    }

    /** The start time of a live process in clock ticks since boot, or -1 if there is none (or it is a zombie). */
    static long startTicks(long pid) {
        String[] fields = stat(pid);
        return fields == null ? -1 : Long.parseLong(fields[19]);
    }

    /** This boot's id: a start time in ticks only identifies a process together with it. */
    static final String BOOT_ID = readBootId();

    private static String readBootId() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** Live (not zombie) processes of the machine that {@code ours} accepts; never drover itself. */
    static List<Proc> find(Predicate<Proc> ours) {
        List<Proc> found = new ArrayList<>();
        long self = ProcessHandle.current().pid();
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            all.filter(handle -> handle.pid() != self).forEach(handle -> {
                Proc proc = read(handle);
                if (proc != null && ours.test(proc)) {
                    found.add(proc);
                }
            });
        }
        return found;
    }

    /**
     * Ends every process {@code ours} accepts: SIGTERM, up to {@code grace} for them to exit, then SIGKILL again and
     * again (a process forked meanwhile is caught by the next look) until none is left.
     *
     * @return true when none is left
     */
    static boolean kill(Predicate<Proc> ours, Duration grace) {
        List<Proc> left = find(ours);
        left.forEach(proc -> proc.handle.destroy());
        long termUntil = System.nanoTime() + grace.toNanos();
        while (!left.isEmpty() && System.nanoTime() < termUntil) {
            pause();
            left = find(ours);
        }
        long killUntil = System.nanoTime() + KILL_WAIT.toNanos();
        while (!left.isEmpty()) {
            left.forEach(proc -> proc.handle.destroyForcibly());
            if (System.nanoTime() > killUntil) {
                LOG.error("processes {} survived SIGKILL for {}s", left.stream().map(p -> p.handle.pid()).toList(),
                        KILL_WAIT.toSeconds());
                return false;
            }
            pause();
            left = find(ours);
        }
        return true;
    }

    /** Kills a task's session (its session id is the pid of the process drover started); see {@link #kill}. */
    static boolean killSession(long session, Duration grace) {
        return kill(proc -> proc.session == session, grace);
    }

    /** Whether the process's initial environment holds {@code variable=value} (readable for our own processes). */
    static boolean hasEnv(Proc proc, String variable, String value) {
        byte[] wanted = (variable + "=" + value + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] env;
        try {
            env = Files.readAllBytes(Path.of("/proc", Long.toString(proc.handle.pid()), "environ"));
        } catch (IOException | SecurityException e) {
            return false; // gone, or another user's
        }
        outer:
        for (int i = 0; i + wanted.length <= env.length; i++) {
            if (i > 0 && env[i - 1] != 0) {
                continue; // only at the start of an entry
            }
            for (int j = 0; j < wanted.length; j++) {
                if (env[i + j] != wanted[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** Reads the process's stat after taking its handle: a pid reused in between shows the new process's values. */
    private static Proc read(ProcessHandle handle) {
        String[] fields = stat(handle.pid());
        return fields == null ? null : new Proc(handle, Long.parseLong(fields[3]), Long.parseLong(fields[19]));
    }

    /** The fields of /proc/PID/stat from the third (state) on; null for no process, or a zombie. */
    private static String[] stat(long pid) {
        String stat;
        try {
            stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        } catch (IOException | RuntimeException e) {
            return null; // gone
        }
        // pid (comm) state ppid pgrp session ... starttime(22nd): comm may hold spaces and parentheses
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return fields.length < 20 || fields[0].equals("Z") || fields[0].equals("X") ? null : fields;
    }

    private static void pause() {
        try {
            Thread.sleep(POLL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
