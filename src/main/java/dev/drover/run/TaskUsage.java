package dev.drover.run;

/**
 * What one attempt of a task used, as its strategy measured it: wall time, CPU time (user + system, of the task and
 * every descendant it waited for) and peak resident memory (of the largest single process, as the kernel counts it).
 */
public record TaskUsage(long wallMillis, long cpuMillis, long maxRssBytes) {
}
