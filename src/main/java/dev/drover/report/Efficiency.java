package dev.drover.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How well a run's tasks fit what was asked for them, and what to ask next time: CPU efficiency (CPU time over
 * wall time × CPUs requested), memory efficiency (peak over the memory each task had: what the cluster granted its
 * last attempt where its history says, else what the run requested), the spread of wall time and peak memory,
 * and a suggested {@code mem} and {@code time} that the largest task would have fitted with a margin.
 * Wall time comes from the measured figures where a task has them, else from its start and end; CPU and memory
 * only from measured figures ({@code usage} in report.json). Tasks that ended (succeeded or failed) count.
 */
public record Efficiency(int ended, int measured, Spread wall, Spread peakRss, double cpuEfficiency,
                         double memEfficiency, Long requestedMem, Long requestedTime, int cpus, String suggestedMem,
                         String suggestedTime, List<String> advice) {

    /** Headroom over the largest task: memory use varies little between runs of the same inputs, time more. */
    static final double MEM_MARGIN = 1.2;
    static final double TIME_MARGIN = 1.5;
    /** Asking for this many times what the largest task used is worth a line of advice (time varies more). */
    static final double OVER_REQUESTED = 2;
    static final double TIME_OVER_REQUESTED = 3;
    /** Using this much of a limit is too close: the next run may cross it. */
    static final double TOO_CLOSE = 0.9;

    private static final long MIB = 1L << 20;
    private static final Pattern MEM = Pattern.compile("([0-9]+)([KMGTkmgt]?)[Bb]?");
    private static final Pattern TIME = Pattern.compile("(?:([0-9]+)-)?([0-9]+)(?::([0-9]+))?(?::([0-9]+))?");

    /** p50, p95, p99 and max of a figure over the tasks that have it; all NaN when none has. */
    public record Spread(double p50, double p95, double p99, double max) {
        /** Of the first {@code n} values, which it sorts in place (a million-task run's figures are not copied). */
        static Spread of(double[] values, int n) {
            if (n == 0) {
                return new Spread(Double.NaN, Double.NaN, Double.NaN, Double.NaN);
            }
            Arrays.sort(values, 0, n);
            return new Spread(rank(values, n, 0.50), rank(values, n, 0.95), rank(values, n, 0.99), values[n - 1]);
        }

        /** Nearest-rank percentile: a value some task really had. */
        private static double rank(double[] sorted, int n, double p) {
            return sorted[Math.max(0, (int) Math.ceil(p * n) - 1)];
        }
    }

    public static Efficiency of(RunFacts run) {
        int n = run.taskCount();
        double[] walls = new double[n];
        double[] rss = new double[n];
        int ended = 0;
        int withRss = 0;
        int measured = 0;
        double cpuSum = 0;
        double cpuWallSum = 0;
        double memShareSum = 0;
        int withMem = 0;
        Long requestedMem = memBytes(run.resources.get("mem"));
        for (int i = 0; i < n; i++) {
            String state = RunFacts.STATES.get(run.state[i]);
            if (!state.equals("SUCCEEDED") && !state.equals("FAILED")) {
                continue;
            }
            double wall = run.duration(i);
            if (!Double.isNaN(wall)) {
                walls[ended++] = wall;
            }
            if (run.maxRssBytes[i] >= 0) {
                rss[withRss++] = run.maxRssBytes[i];
                long had = run.memMib != null && run.memMib[i] > 0 ? (long) run.memMib[i] << 20
                        : requestedMem != null ? requestedMem : 0;
                if (had > 0) {
                    memShareSum += (double) run.maxRssBytes[i] / had;
                    withMem++;
                }
            }
            if (!Double.isNaN(run.cpuSeconds[i]) && !Double.isNaN(run.wallSeconds[i])) {
                measured++;
                cpuSum += run.cpuSeconds[i];
                cpuWallSum += run.wallSeconds[i];
            }
        }
        int cpus = cpus(run.resources.get("cpus_per_task"));
        Long requestedTime = seconds(run.resources.get("time"));
        Spread wall = Spread.of(walls, ended);
        Spread peak = Spread.of(rss, withRss);
        double cpuEfficiency = cpuWallSum > 0 ? cpuSum / (cpuWallSum * cpus) : Double.NaN;
        double memEfficiency = withMem > 0 ? memShareSum / withMem : Double.NaN;
        String suggestedMem = withRss > 0 ? slurmMem(peak.max() * MEM_MARGIN) : null;
        String suggestedTime = ended > 0 ? slurmTime(wall.max() * TIME_MARGIN) : null;

        List<String> advice = new ArrayList<>();
        if (suggestedMem != null) {
            String largest = "the largest task used " + bytes(peak.max());
            if (requestedMem == null) {
                advice.add(largest + "; on a cluster try mem=" + suggestedMem);
            } else if (requestedMem >= peak.max() * OVER_REQUESTED) {
                advice.add(String.format(Locale.ROOT, "mem=%s is %s more than the largest task used (%s); try mem=%s",
                        run.resources.get("mem"), times(requestedMem / Math.max(peak.max(), 1)), bytes(peak.max()),
                        suggestedMem));
            } else if (peak.max() >= requestedMem * TOO_CLOSE) {
                advice.add(largest + ", " + percent(peak.max() / requestedMem) + " of mem=" + run.resources.get("mem")
                        + "; try mem=" + suggestedMem);
            }
        }
        if (suggestedTime != null && requestedTime != null) {
            if (requestedTime >= wall.max() * TIME_OVER_REQUESTED) {
                advice.add(String.format(Locale.ROOT, "time=%s is %s the longest task (%s); try time=%s",
                        run.resources.get("time"), times(requestedTime / Math.max(wall.max(), 1)),
                        duration(wall.max()), suggestedTime));
            } else if (wall.max() >= requestedTime * TOO_CLOSE) {
                advice.add("the longest task took " + duration(wall.max()) + ", " + percent(wall.max() / requestedTime)
                        + " of time=" + run.resources.get("time") + "; try time=" + suggestedTime);
            }
        }
        if (cpus > 1 && cpuEfficiency < 1 / OVER_REQUESTED) {
            int busy = (int) Math.max(1, Math.ceil(cpuSum / cpuWallSum));
            advice.add(String.format(Locale.ROOT, "tasks kept %.1f of cpus_per_task=%d CPUs busy (%s); try"
                    + " cpus_per_task=%d", cpuSum / cpuWallSum, cpus, percent(cpuEfficiency), busy));
        }
        return new Efficiency(ended, measured, wall, peak, cpuEfficiency, memEfficiency, requestedMem, requestedTime,
                cpus, suggestedMem, suggestedTime, List.copyOf(advice));
    }

    /**
     * Work over a run's facts is done one run at a time in a process: the page's writer and the summary line of the
     * same run end together, and a million tasks' facts are 40 MB each.
     */
    static final Object ONE_AT_A_TIME = new Object();
    /** The last advice computed, for the report.json it was computed from (its path, modification time and size). */
    private static Remembered last;

    private record Remembered(Path report, long modified, long size, String advice) {
    }

    /**
     * The advice line for the summary of a finished run: null when its tasks' usage was not measured (then there is
     * nothing to size by), when there is nothing to say, or when its report cannot be read. Remembered from the
     * page's writer when it has just read the same report.
     */
    public static String adviceFor(Path runDir) {
        synchronized (ONE_AT_A_TIME) {
            Path report = runDir.resolve("report.json");
            try {
                Remembered known = last;
                if (known != null && known.report.equals(report)
                        && known.modified == Files.getLastModifiedTime(report).toMillis()
                        && known.size == Files.size(report)) {
                    return known.advice;
                }
                return remember(runDir, of(RunFacts.read(runDir)));
            } catch (IOException | RuntimeException unreadable) {
                return null; // the summary line already names the report
            }
        }
    }

    /** Remembers {@code e}, just computed from runDir's report, for {@link #adviceFor}; returns its advice line. */
    static String remember(Path runDir, Efficiency e) {
        String advice = e.measured() > 0 || e.peakRss().max() > 0 ? e.summary() : null;
        Path report = runDir.resolve("report.json");
        try {
            last = new Remembered(report, Files.getLastModifiedTime(report).toMillis(), Files.size(report), advice);
        } catch (IOException gone) {
            last = null;
        }
        return advice;
    }

    /** The advice as one line for a terminal, or null when there is nothing to say. */
    public String summary() {
        return advice.isEmpty() ? null : String.join("; ", advice);
    }

    /** A SLURM memory size at least {@code bytes}: megabytes to two significant digits, whole gigabytes above 1G. */
    static String slurmMem(double bytes) {
        long mib = Math.max(1, (long) Math.ceil(bytes / MIB));
        if (mib > 1024) {
            return (long) Math.ceil(mib / 1024.0) + "G";
        }
        long scale = 1;
        while (mib / scale >= 100) {
            scale *= 10;
        }
        return ((mib + scale - 1) / scale * scale) + "M";
    }

    /** A SLURM time limit at least {@code seconds}, in whole minutes: {@code HH:MM:00}, or {@code D-HH:MM:00} from a day. */
    static String slurmTime(double seconds) {
        long minutes = Math.max(1, (long) Math.ceil(seconds / 60));
        long hours = minutes / 60;
        return hours < 24 ? String.format(Locale.ROOT, "%02d:%02d:00", hours, minutes % 60)
                : String.format(Locale.ROOT, "%d-%02d:%02d:00", hours / 24, hours % 24, minutes % 60);
    }

    /** SLURM's mem value in bytes (a plain number is megabytes); null when absent, 0 (a whole node) or unreadable. */
    static Long memBytes(String mem) {
        Matcher m = mem == null ? null : MEM.matcher(mem.strip());
        if (m == null || !m.matches() || Long.parseLong(m.group(1)) == 0) {
            return null;
        }
        int shift = switch (m.group(2).toUpperCase(Locale.ROOT)) {
            case "K" -> 10;
            case "G" -> 30;
            case "T" -> 40;
            default -> 20;
        };
        return Long.parseLong(m.group(1)) << shift;
    }

    /** SLURM's time value in seconds (M, M:S, H:M:S, D-H, D-H:M, D-H:M:S); null when absent, unlimited or unreadable. */
    static Long seconds(String time) {
        Matcher t = time == null ? null : TIME.matcher(time.strip());
        if (t == null || !t.matches()) {
            return null;
        }
        long a = Long.parseLong(t.group(2));
        long b = t.group(3) == null ? 0 : Long.parseLong(t.group(3));
        long c = t.group(4) == null ? 0 : Long.parseLong(t.group(4));
        if (t.group(1) != null) {
            return ((Long.parseLong(t.group(1)) * 24 + a) * 60 + b) * 60 + c;
        }
        return t.group(4) != null ? (a * 60 + b) * 60 + c : a * 60 + b;
    }

    private static int cpus(String value) {
        try {
            return value == null ? 1 : Math.max(1, Integer.parseInt(value.strip()));
        } catch (NumberFormatException e) {
            return 1;
        }
    }

    /** Bytes in SLURM's letters (binary units): 512K, 120M, 1.5G. */
    public static String bytes(double bytes) {
        String[] units = {"", "K", "M", "G", "T"};
        int u = 0;
        while (bytes >= 1024 && u < units.length - 1) {
            bytes /= 1024;
            u++;
        }
        return (bytes >= 10 || u == 0 ? String.format(Locale.ROOT, "%.0f", bytes)
                : String.format(Locale.ROOT, "%.1f", bytes)) + units[u];
    }

    /** A duration for people: 850ms, 4.2s, 2m05s, 3h02m, 2d04h. */
    public static String duration(double seconds) {
        if (seconds < 1) {
            return String.format(Locale.ROOT, "%.0fms", seconds * 1000);
        }
        if (seconds < 60) {
            return String.format(Locale.ROOT, "%.1fs", seconds);
        }
        long s = Math.round(seconds);
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        if (s < 86400) {
            return String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60);
        }
        return String.format(Locale.ROOT, "%dd%02dh", s / 86400, s % 86400 / 3600);
    }

    public static String percent(double fraction) {
        return String.format(Locale.ROOT, "%.0f%%", fraction * 100);
    }

    private static String times(double ratio) {
        return String.format(Locale.ROOT, ratio >= 10 ? "%.0fx" : "%.1fx", ratio);
    }
}
