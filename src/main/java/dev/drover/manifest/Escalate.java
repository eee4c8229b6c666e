package dev.drover.manifest;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Iterator;
import java.util.Set;

/**
 * The manifest's {@code escalate}: how a cluster task's next attempt grows after it ran out of memory (SLURM
 * OUT_OF_MEMORY, Kubernetes OOMKilled) or out of time (SLURM TIMEOUT, Kubernetes activeDeadlineSeconds). Each
 * factor multiplies the task's {@code mem} / {@code time} for its next attempt, which spends one of its retries;
 * the result is capped by {@code maxMem} / {@code maxTime}, and a task already at the cap fails with a reason that
 * says so. Defaults apply without an {@code escalate}: mem and time double, no cap beyond the cluster's own.
 *
 * @param mem        factor, 1 (no growth) to 16; default 2
 * @param time       factor, 1 to 16; default 2
 * @param maxMemMb   cap in MB, 0 for none
 * @param maxMinutes cap in minutes, 0 for none
 */
public record Escalate(double mem, double time, long maxMemMb, long maxMinutes) {

    public static final double DEFAULT_FACTOR = 2;
    public static final double MAX_FACTOR = 16;
    public static final Escalate DEFAULT = new Escalate(DEFAULT_FACTOR, DEFAULT_FACTOR, 0, 0);
    private static final Set<String> FIELDS = Set.of("mem", "time", "maxMem", "maxTime");

    /** Reads {@code escalate: {mem, time, maxMem, maxTime}}; null gives the defaults. */
    static Escalate parse(JsonNode node) {
        if (node == null || node.isNull()) {
            return DEFAULT;
        }
        if (!node.isObject()) {
            throw new ManifestException("escalate", "must be a map, e.g. escalate: {mem: 2, time: 1.5, maxMem: 64G,"
                    + " maxTime: '2-00:00:00'}");
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw new ManifestException("escalate." + name, "is not a field of escalate: use mem, time, maxMem"
                        + " or maxTime");
            }
        }
        return new Escalate(factor(node.get("mem"), "escalate.mem"), factor(node.get("time"), "escalate.time"),
                amount(node.get("maxMem"), "escalate.maxMem", true), amount(node.get("maxTime"), "escalate.maxTime",
                false));
    }

    private static double factor(JsonNode value, String field) {
        if (value == null) {
            return DEFAULT_FACTOR;
        }
        if (!value.isNumber() || value.asDouble() < 1 || value.asDouble() > MAX_FACTOR) {
            throw new ManifestException(field, "'" + value.asText() + "' is not a factor from 1 to " + (int) MAX_FACTOR
                    + ": give a number such as 2 or 1.5 (1 keeps the value as it is)");
        }
        return value.asDouble();
    }

    private static long amount(JsonNode value, String field, boolean size) {
        if (value == null) {
            return 0;
        }
        String text = value.isValueNode() ? value.asText() : "";
        long amount = size ? ResourceAmounts.megabytes(text) : ResourceAmounts.minutes(text);
        if (amount <= 0) {
            throw new ManifestException(field, "'" + text + "' is not " + (size
                    ? "a size such as 64G or 500M (a plain number means MB)"
                    : "a SLURM time such as 120 (minutes), 04:00:00 or 2-00:00:00"));
        }
        return amount;
    }
}
