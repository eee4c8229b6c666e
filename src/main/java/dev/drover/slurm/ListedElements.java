package dev.drover.slurm;

import dev.drover.cluster.ShellWords;
import dev.drover.manifest.TaskSpec;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Objects;

/**
 * The tasks of a list manifest (or an {@code items:} generator) as a table beside the array's script, {@code tasks}
 * in its folder, of which each element reads only its own part: written once per array, a few bytes beyond the
 * arguments per task, so that neither the script that sbatch sends to the controller nor any element's start-up
 * grows with the array.
 * <p>
 * The table starts with an index of fixed-width lines ({@value #OFFSET_WIDTH} bytes: a space-padded decimal byte
 * offset and a newline), one per element and one for the end, so that element e finds its rows between the offsets
 * on lines e and e+1 with {@code tail -c} and {@code head -c}, without reading anything before them. A row is one
 * line of shell words, each single-quoted ({@link ShellWords#quote}: a newline inside an argument is spelled
 * "$drover_nl", so a row never spans lines), which the element reads with {@code read -r} and evaluates:
 * <pre>
 * r INDEX 'ID' 'ARG'...                      the array's common working directory and environment (its first task's)
 * R INDEX 'ID' 'WORKDIR' 'ENV' 'ARG'...      a task with its own (ENV: the export line drover_exec evaluates)
 * </pre>
 * A row cut short (a table read while half written, say) has no final newline, so {@code read} returns it as false
 * and it is never evaluated.
 */
final class ListedElements {

    static final int OFFSET_WIDTH = 12;
    static final String TABLE = "tasks";

    private ListedElements() {
    }

    static Path table(ArrayJob job) {
        return job.dir().resolve(TABLE);
    }

    /** The script's part: the two row commands, then this element's rows. */
    static void append(StringBuilder s, ArrayJob job, Path defaultWorkdir) {
        TaskSpec common = job.elements().get(0).get(0);
        String commonWorkdir = SbatchScript.workdirWord(common.workdir(), defaultWorkdir);
        s.append("r() { t=$1; id=$2; wd=").append(commonWorkdir).append("; shift 2; drover_task ")
                .append(ShellWords.quote(ShellWords.exportLine(common.env()))).append(" \"$@\"; }\n")
                .append("R() { t=$1; id=$2; wd=$3; shift 3; drover_task \"$@\"; }\n");
        SbatchScript.elementNumber(s, job.elements().size());
        s.append("T=\"$D/").append(TABLE).append("\"\n")
                .append("set -- $(tail -c +$((e * ").append(OFFSET_WIDTH).append(" + 1)) \"$T\" | head -c ")
                .append(2 * OFFSET_WIDTH).append(")\n")
                .append("if [ $# -ne 2 ]; then\n")
                .append("  echo \"drover: cannot read the rows of array element $e in $T\" >&2\n  exit 2\nfi\n")
                .append("tail -c +$(($1 + 1)) \"$T\" | head -c $(($2 - $1)) | {\n")
                .append("  while IFS= read -r row; do eval \"$row\"; done\n")
                .append("  exit \"$failed\"\n}\n");
    }

    /** Writes the array's table: rows streamed after a placeholder index, the index filled in at the end. */
    static void writeTable(ArrayJob job, Path defaultWorkdir) throws IOException {
        List<List<TaskSpec>> elements = job.elements();
        TaskSpec common = elements.get(0).get(0);
        long[] offsets = new long[elements.size() + 1];
        long position = (long) OFFSET_WIDTH * offsets.length;
        try (FileChannel channel = FileChannel.open(table(job), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            channel.position(position);
            OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
            for (int e = 0; e < elements.size(); e++) {
                offsets[e] = position;
                for (TaskSpec task : elements.get(e)) {
                    byte[] row = row(task, common, defaultWorkdir).getBytes(StandardCharsets.UTF_8);
                    out.write(row);
                    position += row.length;
                }
            }
            offsets[elements.size()] = position;
            out.flush();
            // space-padded by hand: String.format per element was a quarter of a 10^6-task dry run
            StringBuilder index = new StringBuilder(OFFSET_WIDTH * offsets.length);
            for (long offset : offsets) {
                String digits = Long.toString(offset);
                index.append(" ".repeat(OFFSET_WIDTH - 1 - digits.length())).append(digits).append('\n');
            }
            ByteBuffer header = ByteBuffer.wrap(index.toString().getBytes(StandardCharsets.US_ASCII));
            for (long at = 0; header.hasRemaining(); ) {
                at += channel.write(header, at);
            }
        }
    }

    /** One task's row: {@code r} when its working directory and environment are the array's common ones. */
    static String row(TaskSpec task, TaskSpec common, Path defaultWorkdir) {
        StringBuilder row = new StringBuilder(64);
        boolean own = !Objects.equals(task.workdir(), common.workdir()) || !task.env().equals(common.env());
        row.append(own ? "R " : "r ").append(task.index()).append(' ').append(ShellWords.quote(task.id()));
        if (own) {
            row.append(' ').append(SbatchScript.workdirWord(task.workdir(), defaultWorkdir))
                    .append(' ').append(ShellWords.quote(ShellWords.exportLine(task.env())));
        }
        for (String arg : task.command()) {
            row.append(' ').append(ShellWords.quote(arg));
        }
        return row.append('\n').toString();
    }
}
