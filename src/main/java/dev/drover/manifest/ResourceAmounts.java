package dev.drover.manifest;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Memory sizes and SLURM time limits as numbers, so that escalation can multiply and cap them: sizes in MB (500M,
 * 32G, 1T, 1024 = MB; Kubernetes' Mi/Gi/Ti too), times in minutes (M, M:S, H:M:S, D-H, D-H:M, D-H:M:S).
 */
public final class ResourceAmounts {

    private static final Pattern SIZE = Pattern.compile("(\\d{1,12})\\s*([KMGT]i?)?B?", Pattern.CASE_INSENSITIVE);
    private static final Pattern TIME = Pattern.compile(
            "(?:(\\d{1,5})-)?(\\d{1,7})(?::(\\d{1,2}))?(?::(\\d{1,2}))?");

    private ResourceAmounts() {
    }

    /** The size in MB (rounded up), or -1 when {@code text} is not a size. */
    public static long megabytes(String text) {
        Matcher m = text == null ? null : SIZE.matcher(text.strip());
        if (m == null || !m.matches()) {
            return -1;
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "M" : m.group(2).substring(0, 1).toUpperCase(Locale.ROOT);
        return switch (unit) {
            case "K" -> (n + 1023) / 1024;
            case "G" -> n * 1024;
            case "T" -> n * 1024 * 1024;
            default -> n;
        };
    }

    /** A size in MB as SLURM and drover write it: whole gigabytes as G, else M. */
    public static String size(long megabytes) {
        return megabytes % 1024 == 0 ? megabytes / 1024 + "G" : megabytes + "M";
    }

    /**
     * The time limit in minutes (seconds rounded up), or -1 when {@code text} is not a SLURM time. With a day, the
     * next fields are hours, minutes, seconds; without, M, M:S or H:M:S as sbatch reads them.
     */
    public static long minutes(String text) {
        Matcher m = text == null ? null : TIME.matcher(text.strip());
        if (m == null || !m.matches()) {
            return -1;
        }
        long a = Long.parseLong(m.group(2));
        Long b = m.group(3) == null ? null : Long.parseLong(m.group(3));
        Long c = m.group(4) == null ? null : Long.parseLong(m.group(4));
        if (m.group(1) != null) {
            long days = Long.parseLong(m.group(1));
            return days * 1440 + a * 60 + (b == null ? 0 : b) + (c == null || c == 0 ? 0 : 1);
        }
        if (c != null) {
            return a * 60 + b + (c == 0 ? 0 : 1);
        }
        return b == null ? a : a + (b == 0 ? 0 : 1);
    }

    /** Minutes as a SLURM time, D-HH:MM:00 (sbatch reads a plain number as minutes too, but this is unambiguous). */
    public static String time(long minutes) {
        long days = minutes / 1440;
        long hours = minutes % 1440 / 60;
        long mins = minutes % 60;
        return String.format(Locale.ROOT, "%d-%02d:%02d:00", days, hours, mins);
    }
}
