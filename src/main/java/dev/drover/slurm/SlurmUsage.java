package dev.drover.slurm;

import dev.drover.cluster.BackendId;
import dev.drover.run.Run;
import dev.drover.run.TaskUsage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import static dev.drover.cluster.BackendId.Format.SLURM;

/**
 * What each task of an ended array used. From SLURM's accounting first: ONE {@code sacct} call per poll cycle for all
 * of a run's arrays whose last task has ended (never one per task), asked again next cycle until each element's
 * figures are final or {@link #WAIT_MILLIS} has passed; the array's last outcome waits for it (so that the figures are
 * in the report), the tracker's thread does not. Per element: Elapsed (wall), TotalCPU (user + system of all its
 * steps) and the largest MaxRSS of its steps (sampled by SLURM's jobacct_gather every JobAcctGatherFrequency seconds:
 * a short peak between samples is missed). From the same call, what SLURM gave each element, for the attempt's
 * history: its node (NodeList) and its granted resources, ReqMem (which may differ from drover's {@code mem}: a
 * partition's default, MaxMemPerNode) and Timelimit; these are recorded for every task of an element.
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

    private final Run run;
    private final SlurmCommands commands;
    private final SlurmSettings settings;
    private boolean off;
    private boolean toldNone;
    /** Per array (job id), per one-task element: what drover-launch measured, kept as sacct's fallback. */
    private final Map<String, TaskUsage[]> measured = new HashMap<>();
    /** Ended arrays whose last outcome waits for their figures. */
    private final List<Held> held = new ArrayList<>();
    private long lastAsked = Long.MIN_VALUE / 2;

    /** @param settings null: sacct is never asked (tests that script SLURM's states only) */
    SlurmUsage(Run run, SlurmCommands commands, SlurmSettings settings) {
        this.run = run;
        this.commands = commands;
        this.settings = settings;
        this.off = settings == null;
    }

    /** An ended array's last outcome, settled once the array's figures are in. */
    private record Held(String jobId, int attempt, int[][] tasks, Consumer<List<Integer>> settle, long since) {
    }

    /**
     * What drover-launch measured for a task (null: nothing): recorded now, or, for a one-task element while sacct may
     * still give the element's figures, kept as their fallback.
     */
    void measured(String jobId, int attempt, int[][] tasks, int element, int task, TaskUsage usage) {
        boolean now = off || tasks[element].length > 1;
        if (usage == null) {
            if (now) {
                noFigures(task);
            }
        } else if (now) {
            run.taskUsage(task, attempt, usage);
        } else {
            measured.computeIfAbsent(jobId, j -> new TaskUsage[tasks.length])[element] = usage;
        }
    }

    /**
     * An array's last task has ended: its outcome ({@code settle}, given the cycle's list of tasks to retry) is held
     * until the array's figures are in, or settled now when there is nothing to wait for (accounting off, cancelling).
     */
    void ended(String jobId, int attempt, int[][] tasks, boolean cancelling, long now, List<Integer> retried,
               Consumer<List<Integer>> settle) {
        if (off || cancelling) {
            record(attempt, tasks, null, measured.remove(jobId)); // kept before accounting was found off
            settle.accept(retried);
        } else {
            held.add(new Held(jobId, attempt, tasks, settle, now));
        }
    }

    boolean holding() {
        return !held.isEmpty();
    }

    /**
     * Settles the held outcomes whose figures are in: ONE sacct call for all of them, at most every
     * {@link #ASK_INTERVAL_MILLIS}; an array is settled when its figures are final, its wait has passed, accounting
     * is off or the run is being cancelled. True if one was settled.
     */
    boolean release(long now, boolean cancelling, List<Integer> retried) {
        if (held.isEmpty() || (!cancelling && now - lastAsked < ASK_INTERVAL_MILLIS)) {
            return false;
        }
        lastAsked = now;
        Map<String, Map<Integer, Figures>> figures = cancelling ? null
                : ask(held.stream().map(Held::jobId).distinct().toList());
        boolean settled = false;
        for (java.util.Iterator<Held> it = held.iterator(); it.hasNext(); ) {
            Held h = it.next();
            Map<Integer, Figures> known = figures == null ? null : figures.getOrDefault(h.jobId(), Map.of());
            if (known != null && !complete(known, h.tasks()) && now - h.since() < WAIT_MILLIS) {
                continue;
            }
            it.remove();
            record(h.attempt(), h.tasks(), known, measured.remove(h.jobId()));
            h.settle().accept(retried);
            settled = true;
        }
        return settled;
    }

    /**
     * An element's figures as sacct gives them; wall or cpu -1 until its job line is final. {@code node} and
     * {@code granted} (JobResources text, {@code mem=30M,time=00:05:00}) are what SLURM gave it, null when not known.
     */
    record Figures(long wallMillis, long cpuMillis, long maxRssBytes, String node, String granted) {
        static final Figures NONE = new Figures(-1, -1, -1, null, null);

        Figures(long wallMillis, long cpuMillis, long maxRssBytes) {
            this(wallMillis, cpuMillis, maxRssBytes, null, null);
        }

        boolean isFinal() {
            return wallMillis >= 0;
        }
    }

    /** sacct's fields, in the order {@link #parse} reads them. */
    static final String FORMAT = "JobID,State,Elapsed,TotalCPU,MaxRSS,ReqMem,AllocCPUS,Timelimit,NodeList";

    /**
     * One sacct call for these arrays: job id to element to figures; null when sacct fails (the run stops asking and
     * says so once).
     */
    private Map<String, Map<Integer, Figures>> ask(Collection<String> jobIds) {
        SlurmCommands.Result sacct = commands.run("sacct", List.of(settings.sacct(), "--noheader", "--parsable2",
                "--jobs=" + String.join(",", jobIds), "--format=" + FORMAT));
        if (!sacct.ok()) {
            off = true;
            LOG.info("run {}: no usage figures from SLURM's accounting ({}): tasks report what drover-launch measured",
                    run.id(), sacct.message());
            return null;
        }
        Map<String, Map<Integer, Figures>> figures = new HashMap<>();
        for (String jobId : jobIds) {
            figures.put(jobId, parse(sacct.out(), jobId));
        }
        return figures;
    }

    /**
     * Records attempt {@code attempt} of an array's tasks: what SLURM gave each element (node, granted resources),
     * and for one-task elements what they used: sacct's figures where final (with a MaxRSS), else what drover-launch
     * measured ({@code measured}, per element; null if none), else sacct's partial.
     *
     * @param sacct null when sacct was not asked (accounting off, run cancelled): only what was measured is recorded
     */
    private void record(int attempt, int[][] tasks, Map<Integer, Figures> sacct, TaskUsage[] measured) {
        for (int e = 0; e < tasks.length; e++) {
            Figures f = sacct == null ? null : sacct.get(e);
            if (f != null && (f.node() != null || f.granted() != null)) {
                for (int task : tasks[e]) {
                    run.taskGranted(task, attempt, f.node(), f.granted());
                }
            }
            if (tasks[e].length != 1) {
                continue; // its usage was recorded from its exit records as each task ended
            }
            TaskUsage own = measured != null ? measured[e] : null;
            TaskUsage usage = f != null && f.wallMillis() >= 0 && (f.maxRssBytes() >= 0 || own == null)
                    ? new TaskUsage(f.wallMillis(), f.cpuMillis(), Math.max(0, f.maxRssBytes())) : own;
            if (usage != null) {
                run.taskUsage(tasks[e][0], attempt, usage);
            } else if (sacct != null) {
                noFigures(tasks[e][0]);
            }
        }
    }

    /** Said once per run: a task ended with no figures from sacct nor from drover-launch. */
    private void noFigures(int task) {
        if (!toldNone) {
            toldNone = true;
            LOG.info("run {}: no usage figures for task {} (and maybe others): {}drover-launch did not measure it"
                    + " (its element's SLURM output says why)", run.id(), run.plan().manifest().tasks().id(task),
                    off ? "SLURM's accounting is off and " : "sacct had none in time and ");
        }
    }

    /** Every element's line is final, and a one-task element's steps have given their MaxRSS. */
    private static boolean complete(Map<Integer, Figures> figures, int[][] tasks) {
        for (int e = 0; e < tasks.length; e++) {
            Figures f = figures.get(e);
            if (f == null || !f.isFinal() || (tasks[e].length == 1 && f.maxRssBytes() < 0)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Element index to its figures, from sacct's lines ({@link #FORMAT}): the element's own line ({@code 500_3}) gives
     * Elapsed, TotalCPU, ReqMem, Timelimit and NodeList once its state is final, its steps ({@code 500_3.batch},
     * {@code 500_3.extern}, {@code 500_3.0}) their MaxRSS.
     */
    static Map<Integer, Figures> parse(String out, String jobId) {
        Map<Integer, Figures> figures = new HashMap<>();
        for (String line : out.split("\n")) {
            String[] f = line.strip().split("\\|", -1);
            if (f.length < 9) {
                continue;
            }
            int dot = f[0].indexOf('.');
            BackendId element = SLURM.parse(dot < 0 ? f[0] : f[0].substring(0, dot));
            if (element == null || !element.job().equals(jobId)) {
                continue; // a range of pending elements (500_[4-9]) or another job
            }
            Figures known = figures.getOrDefault(element.element(), Figures.NONE);
            if (dot < 0) {
                boolean fin = !NOT_FINAL.contains(f[1].split(" ")[0]);
                known = fin ? new Figures(duration(f[2]), duration(f[3]), known.maxRssBytes(), node(f[8]),
                        granted(f[5], f[6], f[7])) : new Figures(-1, -1, known.maxRssBytes());
            } else if (!f[4].isEmpty()) {
                known = new Figures(known.wallMillis(), known.cpuMillis(), Math.max(known.maxRssBytes(), bytes(f[4])),
                        known.node(), known.granted());
            }
            figures.put(element.element(), known);
        }
        return figures;
    }

    /** NodeList's node(s), null for none ("None assigned" while pending). */
    private static String node(String nodeList) {
        return nodeList.isEmpty() || nodeList.startsWith("None") || nodeList.startsWith("(") ? null : nodeList;
    }

    /**
     * What SLURM granted, as JobResources text: {@code mem} from ReqMem ({@code 4000M}; before SLURM 21.08 with a
     * suffix, {@code 4Gn} per node or {@code 2000Mc} per CPU, times AllocCPUS) in whole megabytes or gigabytes, and
     * {@code time} from Timelimit as SLURM writes it; null when neither is known (0 or UNLIMITED).
     */
    static String granted(String reqMem, String allocCpus, String timelimit) {
        List<String> pairs = new ArrayList<>(2);
        String mem = reqMem;
        long perCpu = 1;
        if (mem.endsWith("c") || mem.endsWith("n")) {
            if (mem.endsWith("c")) {
                try {
                    perCpu = Math.max(1, Long.parseLong(allocCpus.strip()));
                } catch (NumberFormatException unknown) {
                    perCpu = 0; // a per-CPU figure for an unknown count of CPUs: not a total
                }
            }
            mem = mem.substring(0, mem.length() - 1);
        }
        long bytes = bytes(mem);
        if (bytes > 0 && Character.isDigit(mem.charAt(mem.length() - 1))) {
            bytes <<= 20; // a bare ReqMem is megabytes
        }
        bytes *= perCpu;
        if (bytes > 0) {
            long mib = (bytes + (1 << 20) - 1) >> 20;
            pairs.add("mem=" + (mib % 1024 == 0 ? mib / 1024 + "G" : mib + "M"));
        }
        if (duration(timelimit) > 0 && readable("time=" + timelimit)) {
            pairs.add("time=" + timelimit);
        }
        return pairs.isEmpty() ? null : String.join(",", pairs);
    }

    /** Whether the report can read this pair back as a resource (a SLURM of another version may write otherwise). */
    private static boolean readable(String pair) {
        try {
            dev.drover.manifest.JobResources.parse(pair);
            return true;
        } catch (dev.drover.manifest.ManifestException unusual) {
            return false;
        }
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
