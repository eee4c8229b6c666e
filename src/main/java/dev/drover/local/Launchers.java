package dev.drover.local;

import dev.drover.run.DroverLaunch;
import dev.drover.run.TaskUsage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.Charset;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;

/**
 * The drover-launch processes (src/main/c/drover-launch.c) that start local tasks and measure them with wait4(2):
 * each one runs task after task, fed over a pipe, so that a task costs a fork in a small C process instead of one in
 * the JVM; one per task running at once, kept idle between tasks. The protocol is in the C source.
 * Without the program (no C compiler at build time, or {@code drover.local.launcher = none}) the JVM starts the
 * tasks as before and no usage is measured: {@link #available} is false.
 */
final class Launchers {

    private static final Logger LOG = LoggerFactory.getLogger(Launchers.class);
    static final String PROGRAM = DroverLaunch.PROGRAM;
    /** How the JDK turns argv and environment strings into bytes (Java 17: the default charset). */
    private static final Charset NATIVE = Charset.defaultCharset();

    private final String program;
    private final Duration killGrace;
    private final ConcurrentLinkedDeque<Launcher> idle = new ConcurrentLinkedDeque<>();

    /**
     * @param setting   {@code auto} (drover-launch beside drover's jar or classes, else on the PATH), {@code none},
     *                  or the program's path
     * @param killGrace for the session of a task whose launcher died under it
     */
    Launchers(String setting, Duration killGrace) {
        this.killGrace = killGrace;
        this.program = TaskSessions.SUPPORTED ? DroverLaunch.locate(setting == null ? "auto" : setting) : null;
        if (program == null && !"none".equals(setting)) {
            LOG.warn("{} not found (built with the jar when a C compiler is present): local tasks run, but their CPU"
                    + " and memory usage is not measured", PROGRAM);
        }
    }

    boolean available() {
        return program != null;
    }

    /**
     * Starts a task in a session of its own, its output appended to {@code log}.
     *
     * @param argv    the program as a path ({@link TaskSessions#resolve}) and its arguments
     * @param timeout null for none; when it passes, {@link TaskProcess#await} returns false
     * @throws IOException when the task cannot start (the message says why, e.g. No such file or directory)
     */
    TaskProcess start(List<String> argv, File workdir, File log, Duration timeout, Map<String, String> env)
            throws IOException {
        ByteArrayOutputStream request = new ByteArrayOutputStream(256);
        field(request, workdir == null ? "" : workdir.getPath());
        field(request, log.getAbsolutePath());
        field(request, Long.toString(timeout == null ? 0 : Math.max(1, timeout.toMillis())));
        field(request, Integer.toString(argv.size()));
        argv.forEach(arg -> field(request, arg));
        field(request, Integer.toString(env.size()));
        env.forEach((name, value) -> field(request, name + "=" + value));
        Launcher launcher = idle.poll();
        if (launcher != null && !launcher.send(request)) {
            launcher.destroy(); // an idle launcher killed from outside: it read nothing, nothing ran
            launcher = null;
        }
        if (launcher == null) {
            launcher = new Launcher();
            if (!launcher.send(request)) {
                throw new IOException(PROGRAM + " ended at its start");
            }
        }
        long pid = -1;
        long startTicks = -1;
        String reply;
        try {
            reply = launcher.reply();
            if (reply.startsWith("P ")) {
                String[] forked = reply.split(" ");
                pid = Long.parseLong(forked[1]);
                startTicks = forked.length > 2 ? Long.parseLong(forked[2]) : -1; // an older one tells the pid alone
                if (startTicks < 0) {
                    startTicks = TaskSessions.startTicks(pid);
                }
                reply = launcher.reply();
            }
        } catch (IOException | RuntimeException died) { // ended, or said what this build cannot read
            launcher.destroy();
            endStray(pid, env);
            throw new IOException(PROGRAM + " ended while starting it");
        }
        if (reply.equals("S")) {
            return new Launched(launcher, pid, startTicks);
        }
        idle.push(launcher);
        // "F errno step text": the text is strerror's
        String[] parts = reply.split(" ", 4);
        throw new IOException(parts.length == 4 ? parts[3] : PROGRAM + ": " + reply);
    }

    /**
     * A launcher died while starting a task, which may have begun (the task itself may have killed it): its session
     * goes, and any process that has this attempt's environment (one whose pid was not told yet).
     */
    private void endStray(long pid, Map<String, String> env) {
        if (pid > 0) {
            TaskSessions.killSession(pid, killGrace);
        }
        TaskSessions.kill(proc -> env.entrySet().stream().filter(e -> e.getKey().startsWith("DROVER_"))
                .allMatch(e -> TaskSessions.hasEnv(proc, e.getKey(), e.getValue())), killGrace);
    }

    /**
     * Ends the idle launchers and waits for them (briefly): a JVM that exits while a thread still waits for one in
     * native code spends 300 ms waiting for that thread, which was a sixth of a short run's wall time.
     */
    void close() {
        List<Launcher> ended = new java.util.ArrayList<>();
        for (Launcher launcher = idle.poll(); launcher != null; launcher = idle.poll()) {
            launcher.destroy();
            ended.add(launcher);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(1).toNanos();
        try {
            for (Launcher launcher : ended) {
                launcher.process.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void field(ByteArrayOutputStream request, String value) {
        request.writeBytes(value.getBytes(NATIVE));
        request.write(0);
    }

    /** One drover-launch process and its pipes. */
    private final class Launcher {
        private final Process process;
        private final OutputStream requests;
        private final InputStream replies;

        Launcher() throws IOException {
            // it writes nothing of its own; an inherited stderr would hold a caller's pipe open while a task runs on
            process = new ProcessBuilder(program).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            requests = new BufferedOutputStream(process.getOutputStream(), 4096);
            // buffered already; another buffer on top would ask the pipe how much it holds after every read
            replies = process.getInputStream();
        }

        /** Sends a request; false when the launcher is gone (its pipe is closed): it has read none of it. */
        boolean send(ByteArrayOutputStream request) {
            try {
                request.writeTo(requests);
                requests.flush();
                return true;
            } catch (IOException gone) {
                return false;
            }
        }

        /** The next reply line. */
        String reply() throws IOException {
            StringBuilder line = new StringBuilder(48);
            for (int c = replies.read(); c != '\n'; c = replies.read()) {
                if (c < 0) {
                    throw new IOException(PROGRAM + " (pid " + process.pid() + ") ended");
                }
                line.append((char) c);
            }
            return line.toString();
        }

        void destroy() {
            process.destroyForcibly();
        }
    }

    /** A task a launcher runs. */
    private final class Launched implements TaskProcess {
        private final Launcher launcher;
        private final long pid;
        private final long startTicks;
        private int exitCode;
        private TaskUsage usage;

        Launched(Launcher launcher, long pid, long startTicks) {
            this.launcher = launcher;
            this.pid = pid;
            this.startTicks = startTicks;
        }

        public long pid() {
            return pid;
        }

        public long startTicks() {
            return startTicks;
        }

        public boolean await() {
            String reply;
            try {
                reply = launcher.reply();
            } catch (IOException died) {
                return lost(died.getMessage());
            }
            if (reply.equals("T")) {
                return false;
            }
            String[] f = reply.split(" ");
            if (!f[0].equals("E") || f.length != 6) {
                return lost("unexpected reply " + reply);
            }
            exitCode = Integer.parseInt(f[1]);
            usage = new TaskUsage(Long.parseLong(f[2]) / 1000, (Long.parseLong(f[3]) + Long.parseLong(f[4])) / 1000,
                    Long.parseLong(f[5]) * 1024);
            idle.push(launcher);
            return true;
        }

        /** The launcher died under its task: the task's session goes too (it must not outlive its end). */
        private boolean lost(String why) {
            LOG.warn("{}: {}; ending task session {}", PROGRAM, why, pid);
            launcher.destroy();
            TaskSessions.killSession(pid, killGrace);
            exitCode = LocalTaskRunner.KILLED;
            return true;
        }

        public int exitCode() {
            return exitCode;
        }

        public TaskUsage usage() {
            return usage;
        }
    }
}
