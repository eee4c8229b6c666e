package dev.drover.kubernetes;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Locale;

/** Names and label values that Kubernetes accepts, made from run names and ids. */
public final class KubeNames {

    /** Room for {@code -<index>-<5 chars>} that Kubernetes appends for pod names and hostnames of an Indexed Job. */
    static final int JOB_NAME_MAX = 52;
    static final int SUFFIX_LENGTH = 6;
    private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
    private static final SecureRandom RANDOM = new SecureRandom();

    private KubeNames() {
    }

    /**
     * A Job name: the run name made a DNS-1123 label (lower case, letters, digits and '-') plus '-' and a random
     * suffix of 6 characters, at most {@value #JOB_NAME_MAX} characters in all.
     */
    public static String jobName(String runName) {
        String base = runName.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]+", "-").replaceAll("-{2,}", "-");
        base = base.substring(0, Math.min(base.length(), JOB_NAME_MAX - SUFFIX_LENGTH - 1 - "drover-".length()));
        base = base.replaceAll("^-+|-+$", "");
        StringBuilder name = new StringBuilder("drover-");
        if (!base.isEmpty()) {
            name.append(base).append('-');
        }
        for (int i = 0; i < SUFFIX_LENGTH; i++) {
            name.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
        }
        return name.toString();
    }

    /** A label value (at most 63 of [A-Za-z0-9._-], alphanumeric at both ends); long values end in a hash. */
    public static String labelValue(String value) {
        String clean = value.replaceAll("[^A-Za-z0-9._-]", "-");
        if (clean.length() > 63) {
            clean = clean.substring(0, 54) + "-" + hash(value);
        }
        clean = clean.replaceAll("^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "");
        return clean.isEmpty() ? hash(value) : clean;
    }

    private static String hash(String value) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static boolean isDnsLabel(String name) {
        return name.length() <= 63 && name.matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?");
    }
}
