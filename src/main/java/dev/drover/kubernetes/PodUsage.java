package dev.drover.kubernetes;

import dev.drover.run.TaskUsage;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;

import java.math.BigDecimal;
import java.util.List;

/**
 * What a task's pod used, measured in the container by drover's wrapper ({@link #WRAPPER}, the container's command):
 * it runs the task's script as its child, waits for it, then writes one line into the termination message
 * ({@code /dev/termination-log}, which the kubelet copies into the pod's status) and exits with the task's exit code:
 * {@code drover-usage UPTIME_AT_START UPTIME_AT_END CPU_USEC PEAK_BYTES}. The figures are the container's cgroup's
 * (v2: {@code cpu.stat usage_usec}, {@code memory.peak}; v1: {@code cpuacct.usage}, {@code
 * memory.max_usage_in_bytes}): CPU time of every process of the container; the peak memory of the container as the
 * kernel charges it (page cache included, so it may exceed the task's RSS); wall time from {@code /proc/uptime}, to
 * the hundredth of a second. A figure the kernel does not offer is {@code -} (reported as 0; without either, no
 * usage is recorded for the attempt).
 */
final class PodUsage {

    static final String TERMINATION_LOG = "/dev/termination-log";
    static final String CGROUP = "/sys/fs/cgroup";
    static final String PREFIX = "drover-usage ";

    /**
     * The container's command. The task is the wrapper's child, not its replacement (exec), so that the wrapper
     * can read the figures after it; the wrapper passes TERM and INT on to it (as PID 1 it would otherwise ignore
     * them; a wait cut short by a passed-on signal waits again) and exits with its exit code, so the task's argv, output and exit code are what they were. Its stdin is
     * /dev/null, as a Job's pods have no stdin.
     */
    static final String WRAPPER = """
            s="%1$s/%5$s"
            read up0 x < /proc/uptime
            /bin/sh "$s" & c=$!
            trap 't=1; kill -TERM $c 2>/dev/null' TERM
            trap 't=1; kill -INT $c 2>/dev/null' INT
            while :; do t=; wait $c; e=$?; [ -n "$t" ] || break; done
            read up1 x < /proc/uptime
            g=%2$s; u=; p=
            if [ -r $g/cpu.stat ]; then
              while read k v; do [ "$k" = usage_usec ] && u=$v; done < $g/cpu.stat
              [ -r $g/memory.peak ] && read p < $g/memory.peak
            elif [ -r $g/cpuacct/cpuacct.usage ]; then
              read n < $g/cpuacct/cpuacct.usage && u=$((n / 1000))
              [ -r $g/memory/memory.max_usage_in_bytes ] && read p < $g/memory/memory.max_usage_in_bytes
            fi
            echo "%3$s$up0 $up1 ${u:--} ${p:--}" > %4$s 2>/dev/null
            exit $e
            """.formatted(IndexedJobBuilder.TASKS_DIR, CGROUP, PREFIX, TERMINATION_LOG, PodTasks.SCRIPT);

    static final List<String> COMMAND = List.of("/bin/sh", "-c", WRAPPER);

    private PodUsage() {
    }

    /** True when a termination message is the wrapper's figures, not a message of the task's own. */
    static boolean isUsage(String message) {
        return message != null && message.startsWith(PREFIX);
    }

    /** The figures in an ended container's termination message; null if there are none (or they cannot be read). */
    static TaskUsage of(ContainerStateTerminated terminated) {
        if (terminated == null || !isUsage(terminated.getMessage())) {
            return null;
        }
        String[] f = terminated.getMessage().substring(PREFIX.length()).trim().split("\\s+");
        try {
            long wall = new BigDecimal(f[1]).subtract(new BigDecimal(f[0])).movePointRight(3).longValue();
            if (f[2].equals("-") && f[3].equals("-")) {
                return null; // no cgroup accounting in the container: nothing measured
            }
            long cpu = f[2].equals("-") ? 0 : Long.parseLong(f[2]) / 1000;
            long peak = f[3].equals("-") ? 0 : Long.parseLong(f[3]);
            return new TaskUsage(wall, cpu, peak);
        } catch (RuntimeException e) {
            return null;
        }
    }
}
