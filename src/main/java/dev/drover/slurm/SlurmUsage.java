package dev.drover.slurm;

import dev.drover.cluster.BackendId;
import dev.drover.run.Run;
import dev.drover.run.TaskUsage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.drover.cluster.BackendId.Format.SLURM;

/**
 * What each task of an ended array used. From SLURM's accounting first: ONE {@code sacct} call per poll cycle for all
 * of a run's arrays whose last task has ended (never one per task), asked again next cycle until each element's
 * figures are final or {@link #WAIT_MILLIS} has passed; the array's last outcome waits for it (so that the figures are
 * in the report), the tracker's thread does not. Per element: Elapsed (wall), TotalCPU (user + system of all its
 * steps) and the largest MaxRSS of its steps (sampled by SLURM's jobacct_gather every JobAcctGatherFrequency seconds:
 * a short peak between samples is missed).
 * <p>
 * Where sacct has no figures for an element (accounting off: sacct fails; or not final in time), the figures that
 * drover-launch measured in the element and wrote into the task's exit record are used; an element of several tasks
 * (slurm+batching) always uses those, since sacct cannot split an element between its tasks. A run in which a task
 * has neither says so once.
 */
final class SlurmUsage {

    private static final Logger LOG = LoggerFactory.getLogger(SlurmUsage.class);
    /** sacct states of an element still being accounted for: its figures are not final yet. */
    private static final Set<String> NOT_FINAL = Set.of("PENDING", "RUNNING", "COMPLETING", "REQUEUED", "RESIZING",
            "SUSPENDED", "STOPPED");
    /** The accounting of an element that has just ended reaches slurmdbd a moment later: waited for this long. */
    static final long WAIT_MILLIS = 5000;
    /** sacct is asked at most this often by one run. */
    static final long ASK_INTERVAL_MILLIS = 1000;

    private final SlurmCommands commands;
    private final SlurmSettings settings;
    private boolean off;
    private boolean toldNone;

    SlurmUsage(SlurmCommands commands, SlurmSettings settings) {
        this.commands = commands;
        this.settings = settings;
    }

    /** An element's figures as sacct gives them; wall or cpu -1 until its job line is final. */
    record Figures(long wallMillis, long cpuMillis, long maxRssBytes) {
    }

    /** Whether sacct has failed for this run: accounting is off, tasks' own figures are all there is. */
    boolean off() {
        return off;
    }

    /**
     * One sacct call for these arrays: job id to element to figures; null when sacct fails (the run stops asking and
     * says so once).
     */
    Map<String, Map<Integer, Figures>> ask(String runId, Collection<String> jobIds) {
        SlurmCommands.Result sacct = commands.run("sacct", List.of(settings.sacct(), "--noheader", "--parsable2",
                "--jobs=" + String.join(",", jobIds), "--format=JobID,State,Elapsed,TotalCPU,MaxRSS"));
        if (!sacct.ok()) {
            off = true;
            LOG.info("run {}: no usage figures from SLURM's accounting ({}): tasks report what drover-launch measured",
                    runId, sacct.message());
            return null;
        }
        Map<String, Map<Integer, Figures>> figures = new HashMap<>();
        for (String jobId : jobIds) {
            figures.put(jobId, parse(sacct.out(), jobId));
        }
        return figures;
    }

    /**
     * Records attempt {@code attempt} of the one-task elements of an array: sacct's figures where final (with a
     * MaxRSS), else what drover-launch measured ({@code measured}, per element; null if none), else sacct's partial.
     *
     * @param sacct null when sacct was not asked (accounting off, run cancelled): only what was measured is recorded
     */
    void record(Run run, int attempt, int[][] tasks, Map<Integer, Figures> sacct, TaskUsage[] measured) {
        for (int e = 0; e < tasks.length; e++) {
            if (tasks[e].length != 1) {
                continue; // recorded from its exit records as each task ended
            }
            Figures f = sacct == null ? null : sacct.get(e);
            TaskUsage own = measured != null ? measured[e] : null;
            TaskUsage usage = f != null && f.wallMillis() >= 0 && (f.maxRssBytes() >= 0 || own == null)
                    ? new TaskUsage(f.wallMillis(), f.cpuMillis(), Math.max(0, f.maxRssBytes())) : own;
            if (usage != null) {
                run.taskUsage(tasks[e][0], attempt, usage);
            } else if (sacct != null) {
                noFigures(run, tasks[e][0]);
            }
        }
    }

    /** Said once per run: a task ended with no figures from sacct nor from drover-launch. */
    void noFigures(Run run, int task) {
        if (!toldNone) {
            toldNone = true;
            LOG.info("run {}: no usage figures for task {} (and maybe others): {}drover-launch did not measure it"
                    + " (its element's SLURM output says why)", run.id(), run.plan().manifest().tasks().id(task),
                    off ? "SLURM's accounting is off and " : "sacct had none in time and ");
        }
    }

    static boolean complete(Map<Integer, Figures> figures, int[][] tasks) {
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
