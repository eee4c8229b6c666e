package dev.drover.manifest;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.yaml.snakeyaml.LoaderOptions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Turns manifest bytes into a tree, strictly and within bounds: the size is checked before anything is parsed, the
 * format (JSON or YAML) is decided once from the first characters and never retried with the other parser, and
 * duplicate keys, a second document or anything after the end are refused rather than silently dropped.
 */
public final class ManifestParser {

    /** The configuration key of the size limit, named in the message that refuses a larger manifest. */
    public static final String MAX_BYTES_KEY = "drover.manifest.max-bytes";
    /**
     * The largest manifest the parser can hold (a Java string): a rule, not a setting. The setting, {@value
     * #MAX_BYTES_KEY}, has its default (and why) in config/application.properties only.
     */
    public static final long LARGEST = Integer.MAX_VALUE - 1;

    /**
     * SnakeYAML rescans a token from its start each time it reads 1 KiB more, so one long line costs the square of
     * its length (a 21 MB string took minutes); lines of this length keep any manifest within the size limit to
     * seconds. JSON has no such limit.
     */
    static final int MAX_YAML_LINE = 16 * 1024;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    private static final ObjectMapper YAML = yamlMapper();

    private ManifestParser() {
    }

    /**
     * SnakeYAML's own limit (3 MiB of code points by default) would refuse realistic manifests with a parser
     * message; the byte limit, checked first, is the one that applies, so the code-point limit is lifted.
     */
    private static ObjectMapper yamlMapper() {
        LoaderOptions options = new LoaderOptions();
        options.setCodePointLimit(Integer.MAX_VALUE);
        return YAMLMapper.builder(YAMLFactory.builder().loaderOptions(options).build())
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    }

    /** The value of {@value #MAX_BYTES_KEY}, checked. */
    public static long maxBytes(String configured) {
        try {
            long value = Long.parseLong(configured.trim());
            if (value >= 1 && value <= LARGEST) {
                return value;
            }
        } catch (NumberFormatException notANumber) {
            // the message below
        }
        throw new ManifestException(MAX_BYTES_KEY, "'" + String.valueOf(configured).trim() + "' is not a size in"
                + " bytes: give a whole number from 1 to " + LARGEST);
    }

    /** Reads a manifest file as UTF-8 text, refusing it before reading when it is larger than maxBytes. */
    public static String readFile(Path file, long maxBytes) {
        try {
            if (!Files.isRegularFile(file)) {
                throw new ManifestException("manifest", Files.exists(file, LinkOption.NOFOLLOW_LINKS)
                        ? file + " is not a regular file: give the path of a manifest (JSON or YAML)"
                        : "no such file: " + file);
            }
            checkSize(Files.size(file), maxBytes);
            byte[] bytes;
            try (InputStream in = Files.newInputStream(file)) {
                bytes = in.readNBytes((int) maxBytes + 1); // the file may have grown since it was measured
            }
            checkSize(bytes.length, maxBytes);
            return decode(bytes);
        } catch (NoSuchFileException e) {
            throw new ManifestException("manifest", "no such file: " + file);
        } catch (AccessDeniedException e) {
            throw new ManifestException("manifest", "cannot read " + file + ": permission denied");
        } catch (IOException e) {
            throw new ManifestException("manifest", "cannot read " + file + ": " + e.getMessage());
        }
    }

    /** Bytes as UTF-8 text; anything else is refused rather than read with replacement characters. */
    public static String decode(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new ManifestException("manifest", "is not UTF-8 text: save it as UTF-8");
        }
    }

    /** Refuses text whose UTF-8 form is larger than maxBytes, without encoding it. */
    public static void checkSize(CharSequence text, long maxBytes) {
        if (text.length() > maxBytes) {
            checkSize(text.length(), maxBytes); // at least one byte per char: too large whatever it holds
        }
        long bytes = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3; // a surrogate pair is 4
        }
        checkSize(bytes, maxBytes);
    }

    private static void checkSize(long bytes, long maxBytes) {
        String problem = sizeProblem(bytes, maxBytes);
        if (problem != null) {
            throw new ManifestException("manifest", problem);
        }
    }

    /** Why a manifest of this many bytes is refused; null if it is within the limit. */
    public static String sizeProblem(long bytes, long maxBytes) {
        return bytes <= maxBytes ? null : "is " + bytes + " bytes, more than the limit of " + maxBytes + " ("
                + MAX_BYTES_KEY + "): split it, generate the tasks (command with items or range), or raise the limit";
    }

    /**
     * Parses manifest text: JSON when it starts with '[', or with '{' followed by '"' or '}' (as every JSON object
     * does); YAML otherwise, which also reads YAML's flow style {name: x, ...}.
     */
    static JsonNode parse(String text) {
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1); // a byte order mark some editors write
        }
        int first = nonBlank(text, 0);
        int second = nonBlank(text, first + 1);
        boolean json = first < text.length() && (text.charAt(first) == '['
                || text.charAt(first) == '{' && second < text.length() && "\"}".indexOf(text.charAt(second)) >= 0);
        if (!json) {
            checkLines(text);
        }
        return tree(json ? JSON : YAML, json ? "JSON" : "YAML", text, "manifest");
    }

    private static int nonBlank(String text, int from) {
        int at = from;
        while (at < text.length() && Character.isWhitespace(text.charAt(at))) {
            at++;
        }
        return at;
    }

    private static void checkLines(String text) {
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i <= text.length(); i++) {
            if (i == text.length() || text.charAt(i) == '\n') {
                if (i - lineStart > MAX_YAML_LINE) {
                    throw new ManifestException("manifest", "line " + line + " is " + (i - lineStart)
                            + " characters long; a YAML manifest's lines are at most " + MAX_YAML_LINE
                            + ": break the value over several lines (YAML folds quoted strings), or write the"
                            + " manifest as JSON");
                }
                line++;
                lineStart = i + 1;
            }
        }
    }

    /** A JSON value given on the command line (such as --job-resources), as strictly as a manifest. */
    public static JsonNode parseJson(String text, String field) {
        return tree(JSON, "JSON", text, field);
    }

    private static JsonNode tree(ObjectMapper mapper, String format, String text, String field) {
        try (JsonParser parser = mapper.createParser(text)) {
            JsonNode root = mapper.readTree(parser);
            if (parser.nextToken() != null) {
                throw new ManifestException(field, (format.equals("YAML")
                        ? "holds a second YAML document" + at(parser.currentTokenLocation())
                        + ": one manifest is one document; remove the '---' and what follows, or use two files"
                        : "has more after the end of the JSON value" + at(parser.currentTokenLocation())
                        + ": remove it"));
            }
            return root;
        } catch (StreamReadException e) {
            String message = e.getOriginalMessage();
            if (message.startsWith("Duplicate field") || message.startsWith("Duplicate key")) {
                String key = path(e.getProcessor() != null ? e.getProcessor().getParsingContext() : null);
                throw new ManifestException(field, "'" + key + "' is given twice" + at(e.getLocation())
                        + ": keep one (a later one would silently replace the first)");
            }
            if (format.equals("JSON") && (message.startsWith("Unexpected character ('}'")
                    || message.startsWith("Unexpected character (']'"))) {
                throw new ManifestException(field, "is not valid JSON" + at(e.getLocation()) + ": a value is"
                        + " missing, most likely after a trailing comma, which JSON does not allow: remove it");
            }
            throw new ManifestException(field, "is not valid " + format + ": " + firstLine(message)
                    + at(e.getLocation()));
        } catch (IOException | RuntimeException e) {
            if (e instanceof ManifestException refused) {
                throw refused;
            }
            throw new ManifestException(field, "is not valid " + format + ": " + firstLine(String.valueOf(e.getMessage())));
        }
    }

    /** tasks[3].env.X for the key being read, as the validation errors name fields. */
    private static String path(JsonStreamContext context) {
        java.util.Deque<String> parts = new java.util.ArrayDeque<>();
        for (JsonStreamContext at = context; at != null && !at.inRoot(); at = at.getParent()) {
            parts.addFirst(at.inArray() ? "[" + Math.max(at.getCurrentIndex(), 0) + "]" : "." + at.getCurrentName());
        }
        String path = String.join("", parts);
        return path.startsWith(".") ? path.substring(1) : path;
    }

    private static String at(JsonLocation location) {
        return location == null || location.getLineNr() < 1 ? ""
                : " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
    }

    private static String firstLine(String message) {
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
