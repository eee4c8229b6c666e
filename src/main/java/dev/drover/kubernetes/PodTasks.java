package dev.drover.kubernetes;

import dev.drover.cluster.ShellWords;
import dev.drover.manifest.TaskGenerator;
import dev.drover.manifest.TaskSource;
import dev.drover.manifest.TaskSpec;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.IntUnaryOperator;

/**
 * What a Job's ConfigMap holds for its pods, so that its size does not grow with the tasks of a generator, and only
 * by a few bytes beyond the arguments per task of a list. Pod index i runs the Job's i-th task; the container's
 * wrapper ({@link PodUsage}) runs {@value #SCRIPT}, which
 * <ul>
 *   <li>for a range generator's Job of consecutive tasks (a first submission), rebuilds the task from the command
 *   template and its manifest index, the Job's first plus i ({@link ShellWords#generatedIdAndItem}): a few hundred
 *   bytes whatever the number of tasks;</li>
 *   <li>for any other Job (a list's, an {@code items:} generator's, a retry of scattered tasks) reads line i + 1 of
 *   the task table {@value #TABLE} beside it and evaluates it:
 *   <pre>
 * g INDEX BEFORE                                a range generator's task, rebuilt from the template
 * r INDEX BEFORE 'ID' 'ARG'...                  the Job's common working directory and environment (its first task's)
 * R INDEX BEFORE 'ID' 'WORKDIR' 'ENV' 'ARG'...  a task with its own (WORKDIR '' for the image's, ENV an export line)
 *   </pre>
 *   BEFORE is the task's attempts before this Job. Every value is a {@link ShellWords#quote}d word, which never spans
 *   lines. The pod reads the table with the shell alone (the image needs only /bin/sh); the kubelet puts the whole
 *   ConfigMap into every pod's volume anyway, so reading up to its own line costs the pod nothing the mount did not.</li>
 * </ul>
 * The task then runs as on every strategy: its working directory (exit 127 if it is missing), the manifest's
 * environment, then drover's variables (which win), and the argv exec'd without shell interpretation.
 */
final class PodTasks {

    /** The script the container's wrapper runs. */
    static final String SCRIPT = "task.sh";
    /** The task table beside the script, for Jobs whose tasks are not computed. */
    static final String TABLE = "tasks";

    private PodTasks() {
    }

    /** The ConfigMap's data for a Job of {@code tasks}, each with its attempts before the Job. */
    static Map<String, String> data(String runId, TaskSource source, List<TaskSpec> tasks,
                                    IntUnaryOperator attemptsBefore) {
        StringBuilder s = preamble(runId, tasks);
        TaskSpec first = tasks.get(0);
        Map<String, String> data = new TreeMap<>();
        TaskGenerator generator = range(source);
        if (generator != null) {
            s.append("g() { # task index, attempts before this Job\n  t=$1\n")
                    .append(ShellWords.generatedIdAndItem(generator))
                    .append("  drover_task \"$t\" \"$2\" \"$id\" ").append(workdirWord(generator.workdir())).append(' ')
                    .append(ShellWords.quote(ShellWords.exportLine(generator.env())))
                    .append(ShellWords.templateWords(generator)).append("\n}\n");
            int before = attemptsBefore.applyAsInt(first.index());
            if (computable(generator, tasks, attemptsBefore, before)) {
                s.append("g $((").append(first.index()).append(" + i)) ").append(before).append('\n');
                data.put(SCRIPT, s.toString());
                return data;
            }
        } else {
            s.append("r() { # task index, attempts before this Job, id, argv: the Job's common directory and env\n")
                    .append("  t=$1 a=$2 id=$3; shift 3\n")
                    .append("  drover_task \"$t\" \"$a\" \"$id\" ").append(workdirWord(first.workdir())).append(' ')
                    .append(ShellWords.quote(ShellWords.exportLine(first.env()))).append(" \"$@\"\n}\n")
                    .append("R() { drover_task \"$@\"; }\n");
        }
        s.append("case $0 in */*) T=${0%/*}/").append(TABLE).append(" ;; *) T=").append(TABLE).append(" ;; esac\n")
                .append("n=0; row=\n")
                .append("while IFS= read -r line; do\n")
                .append("  if [ \"$n\" -eq \"$i\" ]; then row=$line; break; fi\n")
                .append("  n=$((n + 1))\n")
                .append("done <\"$T\"\n")
                .append("if [ -z \"$row\" ]; then echo \"drover: $T has no row for pod index $i\" >&2; exit 2; fi\n")
                .append("eval \"$row\"\n");
        data.put(SCRIPT, s.toString());
        data.put(TABLE, table(generator != null, tasks, attemptsBefore));
        return data;
    }

    /** The script's start: the function that runs a task, then the pod index, checked against the Job's tasks. */
    private static StringBuilder preamble(String runId, List<TaskSpec> tasks) {
        StringBuilder s = new StringBuilder(2048);
        s.append("# drover run ").append(runId.replaceAll("[^A-Za-z0-9._-]", "_")).append(": pod index i runs the i-th")
                .append(" of this Job's ").append(tasks.size()).append(" tasks (manifest indexes ").append(tasks.get(0).index())
                .append("..").append(tasks.get(tasks.size() - 1).index()).append(")\n")
                .append("drover_nl='\n'\ndrover_cr=$(printf '\\r')\n")
                .append("drover_task() { # task index, attempts before this Job, id, working directory, env, argv\n")
                .append("  [ -z \"$4\" ] || cd \"$4\" || exit 127\n")
                .append("  export DROVER_RUN_ID=").append(ShellWords.quote(runId))
                .append(" DROVER_TASK_ID=\"$3\" DROVER_TASK_INDEX=\"$1\"")
                .append(" DROVER_ATTEMPT=$(($2 + ${").append(IndexedJobBuilder.FAILURE_COUNT_ENV).append(":-0} + 1))\n")
                // drover's variables are set before the manifest's environment, which may use any name but theirs
                .append("  e=$5; shift 5\n  eval \"$e\"\n")
                // exec would read a leading '-' as its own option under bash: such a program runs as a plain command
                .append("  case $1 in -*) \"$@\"; exit ;; *) exec \"$@\" ;; esac\n}\n")
                .append("i=${JOB_COMPLETION_INDEX:-}\n")
                .append("case $i in ''|*[!0-9]*|?????????*) i=-1 ;; esac\n")
                .append("if [ \"$i\" -lt 0 ] || [ \"$i\" -ge ").append(tasks.size()).append(" ]; then\n")
                .append("  echo \"drover: pod index '${JOB_COMPLETION_INDEX:-}' is not one of this Job's ")
                .append(tasks.size()).append("\" >&2\n  exit 2\nfi\n");
        return s;
    }

    /** The source as a range generator (whose tasks the pod can rebuild from the index), or null. */
    private static TaskGenerator range(TaskSource source) {
        return source instanceof TaskGenerator generator && generator.items() == null ? generator : null;
    }

    /** Whether the tasks are consecutive manifest indexes with the same attempts before: then each is computed. */
    private static boolean computable(TaskGenerator generator, List<TaskSpec> tasks, IntUnaryOperator attemptsBefore,
                                      int before) {
        // a generator's task at position p has index p: a slice of it is consecutive without building its tasks
        boolean consecutive = tasks instanceof ConsecutiveTasks slice && slice.of(generator);
        int first = tasks.get(0).index();
        for (int i = 0; i < tasks.size(); i++) {
            int index = consecutive ? first + i : tasks.get(i).index();
            if (index != first + i || attemptsBefore.applyAsInt(index) != before) {
                return false;
            }
        }
        return true;
    }

    /** The task table: one line per task, in the Job's index order. */
    private static String table(boolean generated, List<TaskSpec> tasks, IntUnaryOperator attemptsBefore) {
        TaskSpec common = tasks.get(0);
        StringBuilder table = new StringBuilder(tasks.size() * 32);
        for (TaskSpec task : tasks) {
            int before = attemptsBefore.applyAsInt(task.index());
            if (generated) {
                table.append("g ").append(task.index()).append(' ').append(before).append('\n');
                continue;
            }
            boolean own = !Objects.equals(task.workdir(), common.workdir()) || !task.env().equals(common.env());
            table.append(own ? "R " : "r ").append(task.index()).append(' ').append(before).append(' ')
                    .append(ShellWords.quote(task.id()));
            if (own) {
                table.append(' ').append(workdirWord(task.workdir())).append(' ')
                        .append(ShellWords.quote(ShellWords.exportLine(task.env())));
            }
            for (String arg : task.command()) {
                table.append(' ').append(ShellWords.quote(arg));
            }
            table.append('\n');
        }
        return table.toString();
    }

    /** A working directory inside the container as a word; '' for none (the image's). */
    private static String workdirWord(String workdir) {
        return ShellWords.quote(workdir == null ? "" : workdir);
    }
}
