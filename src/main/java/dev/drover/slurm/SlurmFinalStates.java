package dev.drover.slurm;

import dev.drover.cluster.BackendId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.drover.cluster.BackendId.Format.SLURM;

/**
 * How the elements of an array that left the queue ended, as SLURM tells it: {@code scontrol show job} while the
 * controller still knows the job, {@code sacct} once it has purged it (MinJobAge). One call per array concerned.
 */
final class SlurmFinalStates {

    private static final Logger LOG = LoggerFactory.getLogger(SlurmFinalStates.class);
    private static final Pattern ARRAY_TASK = Pattern.compile("\\bArrayTaskId=(\\d+)\\b");
    private static final Pattern JOB_STATE = Pattern.compile("\\bJobState=(\\S+)");
    private static final Pattern REASON = Pattern.compile("\\bReason=(\\S+)");
    private static final Pattern EXIT_CODE = Pattern.compile("\\bExitCode=(\\d+):(\\d+)");

    /** What SLURM says about an element that has left the queue. */
    record Final(String state, String reason, int exitCode) {
        String describe() {
            return "SLURM " + state + (reason == null || reason.equals("None") ? "" : " (" + reason + ")");
        }
    }

    private SlurmFinalStates() {
    }

    /** Element index to its final state; null if SLURM is unreachable (asked again next cycle). */
    static Map<Integer, Final> ask(SlurmCommands commands, SlurmSettings settings, String runId, String jobId) {
        Map<Integer, Final> finals = new HashMap<>();
        SlurmCommands.Result result = commands.run("scontrol", List.of(settings.scontrol(), "--oneliner", "show",
                "job", jobId));
        if (result.ok()) {
            for (String line : result.out().split("\n")) {
                Matcher task = ARRAY_TASK.matcher(line);
                Matcher state = JOB_STATE.matcher(line);
                if (task.find() && state.find()) {
                    Matcher reason = REASON.matcher(line);
                    Matcher exit = EXIT_CODE.matcher(line);
                    finals.put(Integer.parseInt(task.group(1)), new Final(state.group(1),
                            reason.find() ? reason.group(1) : null,
                            exit.find() ? exitCode(exit.group(1), exit.group(2)) : Integer.MIN_VALUE));
                }
            }
            return finals;
        }
        if (!result.err().contains("Invalid job id")) {
            LOG.warn("run {}: scontrol failed ({}); will retry", runId, result.message());
            return null;
        }
        // purged from the controller (MinJobAge): ask accounting, where there is any
        SlurmCommands.Result sacct = commands.run("sacct", List.of(settings.sacct(), "--allocations", "--noheader",
                "--parsable2", "--jobs=" + jobId, "--format=JobID,State,ExitCode"));
        if (sacct.ok()) {
            for (String line : sacct.out().split("\n")) {
                String[] f = line.strip().split("\\|", -1);
                // a range of pending elements (500_[4-9]) is no element id: not final
                BackendId element = f.length >= 3 ? SLURM.parse(f[0]) : null;
                if (element != null && element.job().equals(jobId)) {
                    String[] code = f[2].split(":");
                    finals.put(element.element(), new Final(f[1].split(" ")[0], null,
                            code.length == 2 ? exitCode(code[0], code[1]) : Integer.MIN_VALUE));
                }
            }
        }
        return finals;
    }

    /** SLURM's exit:signal as a shell would report it: the signal as 128+N, else the exit status. */
    static int exitCode(String exit, String signal) {
        int sig = Integer.parseInt(signal);
        return sig != 0 ? 128 + sig : Integer.parseInt(exit);
    }
}
