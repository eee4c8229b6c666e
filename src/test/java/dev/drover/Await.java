package dev.drover;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.LockSupport;

/**
 * Waiting on a condition with a deadline: the one place tests poll, so no test sleeps a fixed time and hopes.
 * A condition that does not hold by the deadline fails the test with what was awaited.
 */
public final class Await {

    private static final long POLL_NANOS = Duration.ofMillis(20).toNanos();

    private Await() {
    }

    /** Polls {@code condition} until it is true; fails with {@code what} after {@code deadline}. */
    public static void until(String what, Duration deadline, Callable<Boolean> condition) {
        value(what, deadline, () -> Boolean.TRUE.equals(condition.call()) ? Boolean.TRUE : null);
    }

    /** Polls {@code probe} until it answers non-null and returns that answer; fails with {@code what} after {@code deadline}. */
    public static <T> T value(String what, Duration deadline, Callable<T> probe) {
        long end = System.nanoTime() + deadline.toNanos();
        Exception last = null;
        while (true) {
            try {
                T answer = probe.call();
                if (answer != null) {
                    return answer;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for " + what, e);
            } catch (Exception e) {
                last = e; // not there yet (a file half written, a port not open): ask again
            }
            if (System.nanoTime() - end > 0) {
                throw new AssertionError("not within " + deadline.toMillis() + " ms: " + what, last);
            }
            LockSupport.parkNanos(POLL_NANOS);
            if (Thread.interrupted()) {
                throw new AssertionError("interrupted while waiting for " + what);
            }
        }
    }

    /** Whether {@code condition} became true before {@code deadline}: for a test that branches on it. */
    public static boolean within(Duration deadline, Callable<Boolean> condition) {
        try {
            until("condition", deadline, condition);
            return true;
        } catch (AssertionError e) {
            return false;
        }
    }
}
