package dev.drover.manifest;

/**
 * A manifest or flag that cannot be run as given. The message names the field and says how to fix it;
 * callers print it as is and exit with status 2.
 */
public class ManifestException extends RuntimeException {

    private final String field;
    private final String problem;

    public ManifestException(String field, String problem) {
        super(field + ": " + problem);
        this.field = field;
        this.problem = problem;
    }

    public String field() {
        return field;
    }

    /** The message without the field. */
    public String problem() {
        return problem;
    }
}
