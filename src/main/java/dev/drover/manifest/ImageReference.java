package dev.drover.manifest;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A container image reference checked the way the kubelet parses it (the distribution/reference grammar with Docker's
 * normalisation), so that an image Kubernetes would only report as InvalidImageName on every pod is refused before
 * anything is created: [host[:port]/]path[:tag][@algorithm:hex].
 */
public final class ImageReference {

    private static final String COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
    private static final String LABEL = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    private static final Pattern HOST = Pattern.compile(
            "(?:" + LABEL + "(?:\\." + LABEL + ")*|\\[[a-fA-F0-9:]+\\])(?::[0-9]{1,5})?");
    private static final Pattern PATH = Pattern.compile(COMPONENT + "(?:/" + COMPONENT + ")*");
    private static final Pattern TAG = Pattern.compile("\\w[\\w.-]{0,127}");
    private static final Pattern DIGEST = Pattern.compile(
            "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}");
    private static final Pattern IMAGE_ID = Pattern.compile("[a-f0-9]{64}");
    /** The longest repository name (host and path) a registry takes. */
    private static final int MAX_NAME = 255;

    public static final String EXAMPLE = "python:3.12-slim or registry.example.com/team/tool:1.4";

    private ImageReference() {
    }

    public static boolean isValid(String reference) {
        return problem(reference) == null;
    }

    /** Why Kubernetes could not pull this reference, or null when it can be parsed. */
    public static String problem(String reference) {
        if (reference == null || reference.isEmpty() || reference.length() > 2 * MAX_NAME
                || !reference.strip().equals(reference)) {
            return "use a reference such as " + EXAMPLE + ", without spaces";
        }
        if (IMAGE_ID.matcher(reference).matches()) {
            return "a bare 64-character image id cannot be pulled: give the repository, e.g. repo@sha256:<id>";
        }
        String rest = reference;
        int at = rest.indexOf('@');
        if (at >= 0) {
            if (!DIGEST.matcher(rest.substring(at + 1)).matches()) {
                return "'" + rest.substring(at + 1) + "' is not a digest: use e.g. @sha256:<64 hex digits>";
            }
            rest = rest.substring(0, at);
        }
        int colon = rest.lastIndexOf(':');
        if (colon > rest.lastIndexOf('/')) {
            if (!TAG.matcher(rest.substring(colon + 1)).matches()) {
                return "'" + rest.substring(colon + 1) + "' is not a tag: use up to 128 letters, digits, '_', '.' or"
                        + " '-', not starting with '.' or '-'";
            }
            rest = rest.substring(0, colon);
        }
        if (rest.length() > MAX_NAME) {
            return "the repository name is longer than " + MAX_NAME + " characters";
        }
        int slash = rest.indexOf('/');
        String first = slash < 0 ? "" : rest.substring(0, slash);
        // Docker's rule: the first part names a registry only if it has a '.' or ':', is localhost, or has capitals.
        boolean hasHost = slash >= 0 && (first.contains(".") || first.contains(":") || first.equals("localhost")
                || !first.toLowerCase(Locale.ROOT).equals(first));
        String path = hasHost ? rest.substring(slash + 1) : rest;
        if (hasHost && !HOST.matcher(first).matches()) {
            return "'" + first + "' is not a registry host: use e.g. registry.example.com or localhost:5000";
        }
        if (!path.toLowerCase(Locale.ROOT).equals(path)) {
            return "the repository '" + path + "' must be lower case";
        }
        if (!PATH.matcher(path).matches()) {
            return "'" + path + "' is not a repository path: use lower-case letters and digits in parts joined by"
                    + " '/', '.', '_' or '-', e.g. team/tool";
        }
        return null;
    }
}
