package dev.drover.manifest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A manifest's text as drover read it. Text that came as a string (a queue message, an inbox file) is kept; a
 * manifest file is not held in memory (a million-task list is tens of MB): it is read again when it is copied into a
 * run directory, and refused then if its bytes are no longer the ones that were parsed (its SHA-256 differs).
 */
public final class ManifestText {

    private final String text;
    private final Path file;
    private final boolean json;
    private final String sha256;

    private ManifestText(String text, Path file, boolean json, String sha256) {
        this.text = text;
        this.file = file;
        this.json = json;
        this.sha256 = sha256;
    }

    static ManifestText of(String text, boolean json) {
        return new ManifestText(text, null, json, sha256(text.getBytes(StandardCharsets.UTF_8)));
    }

    static ManifestText inFile(Path file, boolean json, String sha256) {
        return new ManifestText(null, file, json, sha256);
    }

    /** Whether the text is JSON (else YAML): what the parser decided from its first characters. */
    public boolean json() {
        return json;
    }

    /** Hex SHA-256 of the text's UTF-8 bytes. */
    public String sha256() {
        return sha256;
    }

    /**
     * Writes the text to {@code target} (replacing it), exactly as it was parsed; a {@link ManifestException} if the
     * file is no longer what was parsed.
     */
    public void copyTo(Path target) throws IOException {
        if (text != null) {
            Files.writeString(target, text, StandardCharsets.UTF_8);
            return;
        }
        MessageDigest digest = newDigest();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
        if (!HexFormat.of().formatHex(digest.digest()).equals(sha256)) {
            Files.deleteIfExists(target);
            throw changed();
        }
    }

    /** The text as one string (a file's is read again and checked). */
    public String string() throws IOException {
        if (text != null) {
            return text;
        }
        byte[] bytes = Files.readAllBytes(file);
        if (!sha256(bytes).equals(sha256)) {
            throw changed();
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** The user's to fix (exit 2), not an I/O failure: the file was edited while drover was reading it. */
    private ManifestException changed() {
        return new ManifestException("manifest", file + " changed after drover read it: run the command again with"
                + " the file as it is now");
    }

    static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(newDigest().digest(bytes));
    }

    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
