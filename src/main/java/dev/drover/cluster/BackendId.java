package dev.drover.cluster;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the journal says a task runs: one element (array index, Job completion index) of one backend job. The only
 * place backend ids are written and read: {@code <job>_<element>} for SLURM (as squeue prints array elements),
 * {@code <job>/<element>} for Kubernetes (a Job name may contain '_' but never '/').
 */
public record BackendId(String job, int element) {

    /** How a backend writes its ids; what a well-formed job part looks like, so foreign text is never trusted. */
    public enum Format {
        SLURM('_', "\\d+"),
        KUBERNETES('/', "[a-z0-9]([-a-z0-9.]*[a-z0-9])?");

        private final char separator;
        private final Pattern pattern;

        Format(char separator, String job) {
            this.separator = separator;
            this.pattern = Pattern.compile("(" + job + ")" + Pattern.quote(String.valueOf(separator)) + "(\\d{1,9})");
        }

        public String format(String job, int element) {
            return job + separator + element;
        }

        /** The id in {@code text}, or null when it is not one of this backend's ids (never guessed at). */
        public BackendId parse(String text) {
            Matcher m = text == null ? null : pattern.matcher(text);
            return m != null && m.matches() ? new BackendId(m.group(1), Integer.parseInt(m.group(m.groupCount())))
                    : null;
        }
    }
}
