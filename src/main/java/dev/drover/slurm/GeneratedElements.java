package dev.drover.slurm;

import dev.drover.cluster.ShellWords;
import dev.drover.manifest.TaskGenerator;
import dev.drover.manifest.TaskSpec;

import java.util.List;

/**
 * The tasks of a range generator's array, rebuilt by the element from the template and the index instead of being
 * spelled out (a few hundred bytes per array instead of ~235 per task). The rule is {@link TaskGenerator}'s: the
 * item is start + step * index, the id the index zero-padded to the width of the largest index, and each template
 * argument a {@link ShellWords#templateWords word}.
 * <p>
 * An array whose elements hold consecutive tasks (a first submission) computes its element's indices; any other
 * (a retry of some tasks) lists each element's indices, a few bytes per task.
 */
final class GeneratedElements {

    private GeneratedElements() {
    }

    static void append(StringBuilder s, ArrayJob job, TaskGenerator generator, String workdirWord) {
        s.append("wd=").append(workdirWord).append('\n')
                .append("drover_generated() { # task index\n")
                .append("  t=$1\n").append(ShellWords.generatedIdAndItem(generator))
                .append("  drover_task ").append(ShellWords.quote(ShellWords.exportLine(generator.env())))
                .append(ShellWords.templateWords(generator))
                .append("\n}\n\n");
        List<List<TaskSpec>> elements = job.elements();
        int first = elements.get(0).get(0).index();
        int per = elements.get(0).size();
        SbatchScript.elementNumber(s, elements.size());
        if (consecutive(elements, first, per)) {
            List<TaskSpec> lastElement = elements.get(elements.size() - 1);
            int end = lastElement.get(lastElement.size() - 1).index() + 1;
            s.append("i=$((").append(first).append(" + e * ").append(per).append("))\n")
                    .append("last=$((i + ").append(per).append("))\n")
                    .append("[ \"$last\" -le ").append(end).append(" ] || last=").append(end).append('\n')
                    .append("while [ \"$i\" -lt \"$last\" ]; do drover_generated \"$i\"; i=$((i + 1)); done\n");
        } else {
            s.append("case $e in\n");
            for (int e = 0; e < elements.size(); e++) {
                s.append(e).append(") set --");
                for (TaskSpec task : elements.get(e)) {
                    s.append(' ').append(task.index());
                }
                s.append(" ;;\n");
            }
            s.append("esac\n")
                    .append("for i in \"$@\"; do drover_generated \"$i\"; done\n");
        }
        s.append("exit \"$failed\"\n");
    }

    private static boolean consecutive(List<List<TaskSpec>> elements, int first, int per) {
        int expected = first;
        for (int e = 0; e < elements.size(); e++) {
            List<TaskSpec> element = elements.get(e);
            if (element.size() != per && (e < elements.size() - 1 || element.size() > per)) {
                return false;
            }
            for (TaskSpec task : element) {
                if (task.index() != expected++) {
                    return false;
                }
            }
        }
        return true;
    }
}
