package dev.drover.slurm;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** scancel for many jobs: one call per at most {@link #MAX_IDS_PER_CALL} ids (the scancel man page warns about loops). */
public final class SlurmCancel {

    private static final Logger LOG = LoggerFactory.getLogger(SlurmCancel.class);
    public static final int MAX_IDS_PER_CALL = 100;

    private final SlurmSettings settings;
    private final SlurmCommands commands;

    public SlurmCancel(SlurmSettings settings, SlurmCommands commands) {
        this.settings = settings;
        this.commands = commands;
    }

    /** Cancels the given job ids (whole arrays when given array job ids); returns the number of scancel calls. */
    public int cancel(Collection<String> jobIds) {
        List<String> ids = new ArrayList<>(jobIds);
        int calls = 0;
        for (int from = 0; from < ids.size(); from += MAX_IDS_PER_CALL) {
            List<String> argv = new ArrayList<>();
            argv.add(settings.scancel());
            argv.addAll(ids.subList(from, Math.min(ids.size(), from + MAX_IDS_PER_CALL)));
            SlurmCommands.Result result = commands.run("scancel", argv);
            calls++;
            if (!result.ok()) {
                LOG.warn("scancel failed: {}", result.message());
            }
        }
        return calls;
    }
}
