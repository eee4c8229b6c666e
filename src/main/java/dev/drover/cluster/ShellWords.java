package dev.drover.cluster;

import dev.drover.manifest.TaskGenerator;

import java.util.Map;
import java.util.Set;

/**
 * Task values as POSIX shell words, for the scripts and task tables a cluster lane writes (SLURM's sbatch scripts,
 * Kubernetes' ConfigMaps): nothing a manifest holds is ever expanded or run by the shell, and a word never spans lines,
 * so that a table can be read a line, a task, at a time. A script using these words defines {@code drover_nl} (a
 * newline) and {@code drover_cr} (a carriage return) before it evaluates them.
 */
public final class ShellWords {

    /** The variables drover sets for every task: a manifest's own of these names are left out (drover's win). */
    private static final Set<String> DROVER_VARIABLES = Set.of("DROVER_RUN_ID", "DROVER_TASK_ID", "DROVER_TASK_INDEX",
            "DROVER_ATTEMPT");

    private ShellWords() {
    }

    /**
     * POSIX single quoting: nothing inside is expanded; a ' becomes '\''. A carriage return is spelled "$drover_cr",
     * because sbatch refuses a script with "\r\n" anywhere in it (for DOS line breaks), and a newline "$drover_nl",
     * so that a quoted word never spans lines.
     */
    public static String quote(String value) {
        return "'" + value.replace("'", "'\\''").replace("\r", "'\"$drover_cr\"'").replace("\n", "'\"$drover_nl\"'")
                + "'";
    }

    /**
     * A task's environment as shell text to evaluate: one export of the manifest's variables, without the DROVER_*
     * ones drover sets itself (drover's win, README "Environment"); empty if there are none.
     */
    public static String exportLine(Map<String, String> env) {
        StringBuilder text = new StringBuilder();
        for (Map.Entry<String, String> entry : env.entrySet()) {
            if (!DROVER_VARIABLES.contains(entry.getKey())) {
                text.append(text.isEmpty() ? "export " : " ").append(quote(entry.getKey() + "=" + entry.getValue()));
            }
        }
        return text.toString();
    }

    /**
     * The shell lines that rebuild a range generator's task from its index in {@code $t} ({@link TaskGenerator}'s
     * rule): {@code id}, the index zero-padded to the width of the largest index, and {@code item}, start + step *
     * index; each line indented by two spaces, for a function's body.
     */
    public static String generatedIdAndItem(TaskGenerator generator) {
        int width = Integer.toString(Math.max(generator.size() - 1, 0)).length();
        return "  id=$t; while [ ${#id} -lt " + width + " ]; do id=0$id; done\n"
                + "  item=$((" + generator.start() + " + " + generator.step() + " * t))\n";
    }

    /** A generator's command template as shell words, each after a space ({@link #templateWord}). */
    public static String templateWords(TaskGenerator generator) {
        StringBuilder words = new StringBuilder();
        for (String arg : generator.template()) {
            words.append(' ').append(templateWord(arg));
        }
        return words.toString();
    }

    /**
     * One argument of a generator's command template as a shell word: literal runs quoted, {item} and {index} as
     * "$item" and "$t", which the script sets for the task (TaskGenerator's rule: {item} then {index} replaced). A
     * range item is digits and '-', so it can never form or break a placeholder: one left-to-right pass over the
     * template gives the same argv.
     */
    static String templateWord(String arg) {
        StringBuilder w = new StringBuilder();
        StringBuilder literal = new StringBuilder();
        for (int i = 0; i < arg.length(); ) {
            String variable = arg.startsWith("{item}", i) ? "\"$item\"" : arg.startsWith("{index}", i) ? "\"$t\"" : null;
            if (variable == null) {
                literal.append(arg.charAt(i++));
                continue;
            }
            if (!literal.isEmpty()) {
                w.append(quote(literal.toString()));
                literal.setLength(0);
            }
            w.append(variable);
            i += variable.equals("\"$t\"") ? "{index}".length() : "{item}".length();
        }
        if (!literal.isEmpty() || w.isEmpty()) {
            w.append(quote(literal.toString()));
        }
        return w.toString();
    }
}
