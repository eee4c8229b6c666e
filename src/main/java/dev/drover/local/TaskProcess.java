package dev.drover.local;

import dev.drover.run.TaskUsage;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A local task's process while it runs: started by drover-launch, which measures what it used ({@link Launchers}),
 * or by the JVM when there is no launcher, which does not.
 */
interface TaskProcess {

    /** Its pid, which is also its session's id when it runs in a session of its own. */
    long pid();

    /** Its start time in clock ticks since boot (with the pid, who it is), -1 if unknown. */
    long startTicks();

    /**
     * Waits until the task ends or, the first time, until its time-out (given when it started) passes.
     *
     * @return false when the time-out passed and the task still runs
     */
    boolean await() throws InterruptedException;

    /** Its exit code (128 + the signal when a signal killed it), once {@link #await} returned true. */
    int exitCode();

    /** What it used, once {@link #await} returned true; null when not measured. */
    TaskUsage usage();

    /** A process the JVM started: no usage figures. */
    final class Jvm implements TaskProcess {
        private final Process process;
        private Duration timeout;

        Jvm(Process process, Duration timeout) {
            this.process = process;
            this.timeout = timeout;
        }

        public long pid() {
            return process.pid();
        }

        public long startTicks() {
            return TaskSessions.startTicks(process.pid());
        }

        public boolean await() throws InterruptedException {
            Duration limit = timeout;
            timeout = null;
            if (limit == null) {
                process.waitFor();
                return true;
            }
            return process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
        }

        public int exitCode() {
            return process.exitValue();
        }

        public TaskUsage usage() {
            return null;
        }
    }
}
