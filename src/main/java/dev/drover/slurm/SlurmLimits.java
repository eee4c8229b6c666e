package dev.drover.slurm;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The cluster limits drover sizes its job arrays by, read once from {@code scontrol show config}. An array may use
 * indices 0..MaxArraySize-1 only, so a chunk holds at most MaxArraySize elements and carries its own offset.
 */
public final class SlurmLimits {

    private static final Logger LOG = LoggerFactory.getLogger(SlurmLimits.class);
    /** SLURM's default, used when the configuration cannot be read (dry runs off the cluster). */
    public static final int DEFAULT_MAX_ARRAY_SIZE = 1001;
    private static final Pattern NODE_NAME = Pattern.compile("(?m)^NodeName=(\\S+)");
    private static final Pattern MAX_ARRAY = Pattern.compile("(?m)^MaxArraySize\\s*=\\s*(\\d+)");

    private final SlurmSettings settings;
    private final SlurmCommands commands;
    private volatile Integer maxArraySize;

    public SlurmLimits(SlurmSettings settings, SlurmCommands commands) {
        this.settings = settings;
        this.commands = commands;
    }

    /** Elements per array: the configured cap if set, else the cluster's MaxArraySize (read on first use). */
    public int maxArraySize() {
        Integer known = maxArraySize;
        if (known == null) {
            synchronized (this) {
                if (maxArraySize == null) {
                    maxArraySize = settings.maxArraySize() > 0 ? settings.maxArraySize() : readMaxArraySize();
                }
                known = maxArraySize;
            }
        }
        return known;
    }

    private int readMaxArraySize() {
        SlurmCommands.Result result = commands.run("scontrol", List.of(settings.scontrol(), "show", "config"));
        Integer parsed = result.ok() ? parseMaxArraySize(result.out()) : null;
        if (parsed == null) {
            LOG.warn("cannot read MaxArraySize from `scontrol show config` ({}); using SLURM's default {}",
                    result.message(), DEFAULT_MAX_ARRAY_SIZE);
            return DEFAULT_MAX_ARRAY_SIZE;
        }
        LOG.info("SLURM MaxArraySize = {}", parsed);
        return parsed;
    }

    /**
     * Whether the cluster has a node other than these: asked at each rerun after a node failure (rare), so that a
     * one-node cluster still runs the task on its one node instead of excluding it.
     */
    public boolean hasOtherNodes(java.util.Set<String> nodes) {
        SlurmCommands.Result result = commands.run("scontrol", List.of(settings.scontrol(), "show", "nodes", "-o"));
        if (!result.ok()) {
            return false;
        }
        Matcher m = NODE_NAME.matcher(result.out());
        while (m.find()) {
            if (!nodes.contains(m.group(1))) {
                return true;
            }
        }
        return false;
    }

    static Integer parseMaxArraySize(String config) {
        Matcher m = MAX_ARRAY.matcher(config);
        if (!m.find()) {
            return null;
        }
        int value = Integer.parseInt(m.group(1));
        return value >= 1 ? value : null;
    }
}
