package dev.drover.slurm;

import dev.drover.cluster.BackendId;
import dev.drover.run.Run;
import dev.drover.run.TaskUsage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.drover.cluster.BackendId.Format.SLURM;

/**
 * What each task of an ended array used, from SLURM's accounting: ONE {@code sacct} call per array (never one per
 * task), when its last task has an outcome and before that outcome is recorded, so that the figures are in the run's
 * report. Per element: Elapsed (wall), TotalCPU (user + system of all its steps) and the largest MaxRSS of its steps
 * (sampled by SLURM's jobacct_gather every JobAcctGatherFrequency seconds: a short peak between samples is missed).
 * Only elements that run one task have per-task figures (slurm+batching elements run several: not split).
 * With accounting off (sacct fails) the run has no SLURM usage figures; this is said once per run.
 */
final class SlurmUsage {

    private static final Logger LOG = LoggerFactory.getLogger(SlurmUsage.class);
    /** sacct states of an element still being accounted for: its figures are not final yet. */
    private static final Set<String> NOT_FINAL = Set.of("PENDING", "RUNNING", "COMPLETING", "REQUEUED", "RESIZING",
            "SUSPENDED", "STOPPED");
    /** The accounting of an element that has just ended reaches slurmdbd a moment later: asked again this often. */
    static final int ASKS = 5;
    static final long ASK_INTERVAL_MILLIS = 1000;

    private final SlurmCommands commands;
    private final SlurmSettings settings;
    private boolean off;

    SlurmUsage(SlurmCommands commands, SlurmSettings settings) {
        this.commands = commands;
        this.settings = settings;
    }

    /** An element's figures as sacct gives them; wall or cpu -1 until its job line is final. */
    record Figures(long wallMillis, long cpuMillis, long maxRssBytes) {
    }

    /**
     * Records the usage of the array's one-task elements as attempt {@code attempt}. Called once per array, by the
     * tracker's thread, as its last task is settled; waits up to {@link #ASKS} seconds for the accounting of
     * elements that have just ended.
     */
    void record(Run run, String jobId, int attempt, int[][] tasks) {
        if (off) {
            return;
        }
        Map<Integer, Figures> figures = Map.of();
        for (int ask = 1; ask <= ASKS; ask++) {
            SlurmCommands.Result sacct = commands.run("sacct", List.of(settings.sacct(), "--noheader", "--parsable2",
                    "--jobs=" + jobId, "--format=JobID,State,Elapsed,TotalCPU,MaxRSS"));
            if (!sacct.ok()) {
                off = true;
                LOG.info("run {}: no usage figures from SLURM ({})", run.id(), sacct.message());
                return;
            }
            figures = parse(sacct.out(), jobId);
            if (complete(figures, tasks) || ask == ASKS) {
                break;
            }
            try {
                Thread.sleep(ASK_INTERVAL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (Map.Entry<Integer, Figures> element : figures.entrySet()) {
            int e = element.getKey();
            Figures f = element.getValue();
            if (e < tasks.length && tasks[e].length == 1 && f.wallMillis() >= 0) {
                run.taskUsage(tasks[e][0], attempt, new TaskUsage(f.wallMillis(), f.cpuMillis(),
                        Math.max(0, f.maxRssBytes())));
            }
        }
    }

    private static boolean complete(Map<Integer, Figures> figures, int[][] tasks) {
        for (int e = 0; e < tasks.length; e++) {
            Figures f = figures.get(e);
            if (tasks[e].length == 1 && (f == null || f.wallMillis() < 0 || f.maxRssBytes() < 0)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Element index to its figures, from sacct's lines: the element's own line ({@code 500_3}) gives Elapsed and
     * TotalCPU once its state is final, its steps ({@code 500_3.batch}, {@code 500_3.extern}, ...) their MaxRSS.
     */
    static Map<Integer, Figures> parse(String out, String jobId) {
        Map<Integer, Figures> figures = new HashMap<>();
        for (String line : out.split("\n")) {
            String[] f = line.strip().split("\\|", -1);
            if (f.length < 5) {
                continue;
            }
            int dot = f[0].indexOf('.');
            BackendId element = SLURM.parse(dot < 0 ? f[0] : f[0].substring(0, dot));
            if (element == null || !element.job().equals(jobId)) {
                continue; // a range of pending elements (500_[4-9]) or another job
            }
            Figures known = figures.getOrDefault(element.element(), new Figures(-1, -1, -1));
            if (dot < 0) {
                boolean fin = !NOT_FINAL.contains(f[1].split(" ")[0]);
                known = new Figures(fin ? duration(f[2]) : -1, fin ? duration(f[3]) : -1, known.maxRssBytes());
            } else if (!f[4].isEmpty()) {
                known = new Figures(known.wallMillis(), known.cpuMillis(), Math.max(known.maxRssBytes(), bytes(f[4])));
            }
            figures.put(element.element(), known);
        }
        return figures;
    }

    /** SLURM's [D-][HH:]MM:SS[.mmm] in milliseconds; -1 when empty or not a duration. */
    static long duration(String text) {
        try {
            long days = 0;
            int dash = text.indexOf('-');
            if (dash >= 0) {
                days = Long.parseLong(text.substring(0, dash));
                text = text.substring(dash + 1);
            }
            String[] parts = text.split(":");
            double seconds = Double.parseDouble(parts[parts.length - 1]);
            long minutes = parts.length >= 2 ? Long.parseLong(parts[parts.length - 2]) : 0;
            long hours = parts.length >= 3 ? Long.parseLong(parts[parts.length - 3]) : 0;
            return Math.round((((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000);
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException notADuration) {
            return -1;
        }
    }

    /** A MaxRSS such as 102400K, 1.5G or 512 (bytes); -1 when it cannot be read. */
    static long bytes(String text) {
        if (text.isEmpty()) {
            return -1;
        }
        char unit = Character.toUpperCase(text.charAt(text.length() - 1));
        int shift = switch (unit) {
            case 'K' -> 10;
            case 'M' -> 20;
            case 'G' -> 30;
            case 'T' -> 40;
            default -> 0;
        };
        try {
            double value = Double.parseDouble(shift == 0 ? text : text.substring(0, text.length() - 1));
            return Math.round(value * (1L << shift));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
