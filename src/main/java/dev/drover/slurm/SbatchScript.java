package dev.drover.slurm;

import dev.drover.manifest.TaskGenerator;
import dev.drover.manifest.TaskSource;
import dev.drover.manifest.JobResources;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

import static dev.drover.cluster.ShellWords.quote;

/**
 * Writes the batch script of one {@link ArrayJob}. Every value that reaches the script is quoted: resources and
 * names inside double quotes on {@code #SBATCH} lines (after {@link JobResources} has refused anything but the
 * characters SLURM uses, so no value can end the quote or start another directive), and everything in the shell
 * part (paths, argv, environment) inside single quotes, so that no value is ever expanded or run by the shell.
 * <p>
 * Tasks are never spelled out in the script: a range generator's are rebuilt from the template and the index
 * ({@link GeneratedElements}), any other array's are rows of its task table ({@link ListedElements}), of which each
 * element reads only its own part. A task that fails does not stop the next one of its batch.
 * <p>
 * Files grow with elements, not tasks (issue 15): each task runs in its own subshell with its output in its
 * element's slot, logs/running/KEY.E.log (logs/running/KEY.E.task names the task in it, so that {@code drover logs}
 * shows a running task's output as for a local slot, local/TaskLogs); a task that printed
 * something has it moved to logs/ID.log as it ends (appended to an earlier attempt's), a quiet task leaves no file.
 * Its exit code, and what it used when drover-launch measured it, is a line of the element's exit record,
 * {@code <element>.exit} beside the script ({@link ExitRecords}). The slot files go when the element ends; a stopped
 * element (scancel, time limit) first gives its running task's output to the task's log.
 * <p>
 * The element runs each task under drover's own drover-launch ({@code --once}: wait4's figures of the task's whole
 * process tree), found at the path it has on drover's machine (the install directory is where a cluster's shared
 * filesystem usually makes it visible on the nodes too) or at the one {@code drover.slurm.launcher} gives. Where it
 * is not, the element says so in its SLURM output and its tasks run without it (then only sacct can tell what they
 * used).
 */
public final class SbatchScript {

    private SbatchScript() {
    }

    /** Characters a run directory may not contain: SLURM would expand '%' patterns, quotes would end a value. */
    public static void checkPath(Path path) {
        String text = path.toString();
        for (char c : text.toCharArray()) {
            if (c == '%' || c == '"' || c == '\\' || c < 0x20 || c == 0x7f) {
                throw new dev.drover.manifest.ManifestException("--runs-dir", "'" + text + "' contains '" + c
                        + "', which cannot appear in a SLURM output path: choose a runs directory without '%', '\"',"
                        + " '\\' or control characters");
            }
        }
    }

    /** {@code drover-<manifest name>}, limited to letters, digits, '.', '_' and '-'. */
    public static String jobName(String manifestName) {
        String clean = manifestName.replaceAll("[^A-Za-z0-9._-]", "_");
        String name = "drover-" + clean;
        return name.length() > 64 ? name.substring(0, 64) : name;
    }

    /** The job's comment: how a restarted drover finds an array whose job id it never recorded. */
    public static String comment(String runId, String arrayKey) {
        return "drover run " + runId + " array " + arrayKey;
    }

    /**
     * Writes the array's script, and the task table it reads unless the tasks are a range generator's.
     *
     * @param taskTimeout the manifest's per-task time limit, or null: each task then runs under coreutils
     *                    {@code timeout} (TERM at the limit, KILL 10 s later; exit status 124)
     * @param launcher    drover-launch's path on the nodes, or null: tasks run without it
     */
    public static void write(ArrayJob job, Path runDir, String manifestName, JobResources resources,
                             Path defaultWorkdir, Duration taskTimeout, TaskSource source, String launcher)
            throws IOException {
        String script = render(job, runDir, manifestName, resources, defaultWorkdir, taskTimeout, source, launcher);
        if (!isGenerated(source)) {
            ListedElements.writeTable(job, defaultWorkdir);
        }
        Files.createDirectories(runDir.resolve("logs").resolve(dev.drover.run.Run.RUNNING_LOGS));
        Files.writeString(job.script(), script, StandardCharsets.UTF_8);
    }

    /** The script alone (a listed array's also needs its table, {@link #write}). */
    static String render(ArrayJob job, Path runDir, String manifestName, JobResources resources,
                         Path defaultWorkdir, Duration taskTimeout, TaskSource source, String launcher) {
        checkPath(runDir);
        StringBuilder s = new StringBuilder(4096);
        s.append("#!/bin/sh\n");
        directive(s, "job-name", jobName(manifestName));
        directive(s, "comment", comment(job.runId(), job.key()));
        directive(s, "output", job.dir().resolve("slurm-%a.out").toString());
        directive(s, "array", job.arraySpec());
        // A requeued element would run its tasks a second time behind drover's back.
        s.append("#SBATCH --no-requeue\n");
        resources.schedulerValues().forEach((key, value) -> directive(s, key.replace('_', '-'), value));
        s.append("#\n# Generated by drover for run ").append(job.runId()).append(", array ").append(job.key())
                .append(", attempt ").append(job.attempt()).append(".\n")
                .append("# Array element N runs its tasks in order (computed below, or read from its rows of the table\n")
                .append("# 'tasks' in this folder); each task's exit code goes to a line of <element>.exit in this folder,\n")
                .append("# its output to logs/running/ while it runs, then to logs/<task id>.log if it printed anything.\n\n");
        s.append("D=").append(quote(job.dir().toString())).append('\n');
        s.append("K=").append(quote(job.key())).append('\n');
        s.append("L=").append(quote(runDir.resolve("logs") + "/")).append('\n');
        s.append("drover_cr=$(printf '\\r')\n");
        s.append("drover_nl='\n'\n");
        if (taskTimeout != null) {
            // found on the job's own PATH, before a task's env (its PATH, say) applies
            s.append("drover_timeout=$(command -v timeout)\n");
        }
        launcher(s, launcher);
        s.append("failed=0\n");
        // SIGTERM (scancel, time limit): end without writing an exit record, so that SLURM's state reports the task
        s.append("trap 'exit 143' TERM\n");
        s.append("drover_keep() { # a task's output in the slot becomes its log").append(job.attempt() > 1
                        ? " (after an earlier attempt's)\n  if [ -e \"$L$id.log\" ]; then cat \"$S.log\" >>\"$L$id.log\"; : >\"$S.log\"; else "
                        : "\n  ").append("mv -f \"$S.log\" \"$L$id.log\"").append(job.attempt() > 1 ? "; fi\n" : "\n")
                .append("}\n")
                .append("drover_end() { # the element ends or is stopped: output left in the slot is its task's\n")
                .append("  if [ -s \"$S.log\" ] && read -r id <\"$S.task\"; then drover_keep; fi\n")
                .append("  rm -f \"$S.log\" \"$S.task\" \"$S.use\"\n")
                .append("}\n");
        // drover_exec reads nothing but its arguments once the task's environment is exported: a manifest variable
        // may have any name, $id or $drover_timeout included. The environment is exported by the shell, not given
        // to env(1): env takes any argument with a '=' for an assignment, so a program path containing '=' would not
        // run. exec would read a leading '-' as its own option under bash, so such a program runs as a plain command.
        s.append("drover_task() { # with $t (task index), $id (task id), $wd (working directory): env as shell text, argv\n")
                .append("  printf '%s\\n' \"$id\" >\"$S.task\"\n")
                .append("  drover_exec \"$@\" >\"$S.log\" 2>&1 </dev/null 3>\"$S.use\"\n")
                .append("  rc=$?\n")
                // drover-launch wrote the task's figures to fd 3: the record's line is "index code[ wall cpu rss]"
                .append("  u=; read -r u <\"$S.use\"\n")
                .append("  [ ! -s \"$S.log\" ] || drover_keep\n")
                .append("  echo \"$t $rc${u:+ $u}\" >>\"$X\"\n")
                .append("  [ \"$rc\" -eq 0 ] || failed=$rc\n")
                .append("}\n")
                .append("drover_exec() (\n")
                .append("  cd \"$wd\" || exit 127\n")
                .append("  export DROVER_RUN_ID=").append(quote(job.runId()))
                .append(" DROVER_TASK_ID=\"$id\" DROVER_TASK_INDEX=\"$t\" DROVER_ATTEMPT=").append(job.attempt())
                .append("\n  e=$1; shift\n");
        if (taskTimeout != null) {
            s.append("  set -- \"$drover_timeout\" -k 10 ")
                    .append(String.format(Locale.ROOT, "%.3fs", taskTimeout.toMillis() / 1000.0)).append(" \"$@\"\n");
        }
        s.append("  if [ -n \"$drover_launch\" ]; then set -- \"$drover_launch\" --once \"$@\"; else exec 3>&-; fi\n");
        s.append("  eval \"$e\"\n")
                .append("  case $1 in -*) \"$@\" ;; *) exec \"$@\" ;; esac\n")
                .append(")\n\n");
        if (source instanceof TaskGenerator generator && isGenerated(generator)) {
            GeneratedElements.append(s, job, generator, workdirWord(generator.workdir(), defaultWorkdir));
        } else {
            ListedElements.append(s, job, defaultWorkdir);
        }
        return s.toString();
    }

    /** Sets {@code drover_launch} to drover-launch's path, or to nothing (said in the element's output) if not there. */
    private static void launcher(StringBuilder s, String path) {
        if (path == null) {
            s.append("drover_launch=\n");
            return;
        }
        s.append("drover_launch=").append(quote(path)).append('\n')
                .append("[ -x \"$drover_launch\" ] || { echo \"drover: $drover_launch is not on node $(hostname):")
                .append(" its tasks run without it, and only sacct can tell what they used\" >&2; drover_launch=; }\n");
    }

    private static boolean isGenerated(TaskSource source) {
        return source instanceof TaskGenerator generator && generator.items() == null;
    }

    static final String NO_TASKS = "echo \"drover: array element '${SLURM_ARRAY_TASK_ID:-}' has no tasks in this script\" >&2";

    /**
     * The shell lines that set {@code e} to this element's number (SLURM_ARRAY_TASK_ID), or end the script if it is
     * not one of the array's {@code elements}.
     */
    static void elementNumber(StringBuilder s, int elements) {
        s.append("e=${SLURM_ARRAY_TASK_ID:-}\n")
                .append("case $e in ''|*[!0-9]*|?????????*) e=-1 ;; esac\n")
                .append("if [ \"$e\" -lt 0 ] || [ \"$e\" -ge ").append(elements).append(" ]; then\n  ")
                .append(NO_TASKS).append("\n  exit 2\nfi\n")
                // the element's slot and exit record (see the class comment)
                .append("S=\"${L}").append(dev.drover.run.Run.RUNNING_LOGS).append("/$K.$e\"; X=\"$D/$e").append(ExitRecords.SUFFIX).append("\"\n")
                .append("trap drover_end EXIT\n");
    }

    /** The sbatch arguments for a written script: everything else is in the script. */
    public static List<String> sbatchArgs(ArrayJob job) {
        return List.of("--parsable", job.script().toString());
    }

    /** A task's working directory as a shell word: its workdir, relative to drover's own, or drover's own. */
    static String workdirWord(String workdir, Path defaultWorkdir) {
        return quote((workdir == null ? defaultWorkdir : defaultWorkdir.resolve(workdir)).toString());
    }

    private static void directive(StringBuilder s, String key, String value) {
        if (value.indexOf('"') >= 0 || value.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new IllegalArgumentException("unsafe #SBATCH value for --" + key + ": " + value);
        }
        s.append("#SBATCH --").append(key).append("=\"").append(value).append("\"\n");
    }
}
