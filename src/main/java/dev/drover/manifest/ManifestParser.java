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

import java.io.BufferedReader;
import java.io.FilterInputStream;
import java.io.FilterReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.Reader;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * Parses manifest bytes as they are read, strictly and within bounds: the size is checked before anything is parsed, the
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

    /** Reads what is parsed from a manifest: called with the parser before its first token. */
    @FunctionalInterface
    interface Body<T> {
        T read(JsonParser parser) throws IOException;
    }

    /** What a manifest's text was read into, and the text (its format and hash). */
    record Parsed<T>(T value, ManifestText text) {
    }

    /**
     * Parses a manifest file as it is read (never held whole: a million-task list is tens of MB), refusing it unread
     * when it is larger than maxBytes, and when it is not UTF-8 or grows past maxBytes while being read.
     */
    static <T> Parsed<T> readFile(Path file, long maxBytes, Body<T> body) {
        try {
            if (!Files.isRegularFile(file)) {
                throw new ManifestException("manifest", Files.exists(file, LinkOption.NOFOLLOW_LINKS)
                        ? file + " is not a regular file: give the path of a manifest (JSON or YAML)"
                        : "no such file: " + file);
            }
            checkSize(Files.size(file), maxBytes);
            MessageDigest digest = ManifestText.newDigest();
            try (InputStream in = new DigestInputStream(new Limited(Files.newInputStream(file), maxBytes), digest)) {
                InputStream leftOpen = new FilterInputStream(in) { // by the parser: the rest is hashed below
                    @Override
                    public void close() {
                    }
                };
                Reader utf8 = new InputStreamReader(leftOpen, StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT));
                Sniffed sniffed = sniff(new StrictUtf8(utf8));
                T value = read(sniffed, body);
                in.transferTo(OutputStream.nullOutputStream()); // the hash covers every byte
                return new Parsed<>(value, ManifestText.inFile(file, sniffed.json,
                        HexFormat.of().formatHex(digest.digest())));
            }
        } catch (NoSuchFileException e) {
            throw new ManifestException("manifest", "no such file: " + file);
        } catch (AccessDeniedException e) {
            throw new ManifestException("manifest", "cannot read " + file + ": permission denied");
        } catch (IOException e) {
            throw new ManifestException("manifest", "cannot read " + file + ": " + e.getMessage());
        }
    }

    /** Parses manifest text given as a string (a queue message, an inbox file). */
    static <T> Parsed<T> read(String text, Body<T> body) {
        try {
            Sniffed sniffed = sniff(new StringReader(text));
            return new Parsed<>(read(sniffed, body), ManifestText.of(text, sniffed.json));
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a string cannot fail to be read
        }
    }

    /** A manifest's reader, and its format, decided from its first characters. */
    private record Sniffed(Reader reader, boolean json) {
    }

    /** How many characters the format check reads at most, looking for the first two that are not blank. */
    private static final int SNIFF = 1 << 16;

    /**
     * JSON when the text starts with '[', or with '{' followed by '"' or '}' (as every JSON object does); YAML
     * otherwise, which also reads YAML's flow style {name: x, ...}. A byte order mark some editors write is skipped.
     */
    private static Sniffed sniff(Reader text) throws IOException {
        BufferedReader in = new BufferedReader(text, SNIFF + 2);
        in.mark(1);
        if (in.read() != '\uFEFF') {
            in.reset();
        }
        in.mark(SNIFF + 2);
        int first = -1;
        int second = -1;
        for (int read = 0, c; read <= SNIFF && second < 0 && (c = in.read()) >= 0; read++) {
            if (!Character.isWhitespace(c)) {
                if (first < 0) {
                    first = c;
                } else {
                    second = c;
                }
            }
        }
        in.reset();
        boolean json = first == '[' || first == '{' && (second == '"' || second == '}');
        return new Sniffed(json ? in : new YamlLines(in), json);
    }

    private static <T> T read(Sniffed text, Body<T> body) {
        return text.json ? read(JSON, "JSON", text.reader, "manifest", body)
                : read(YAML, "YAML", text.reader, "manifest", body);
    }

    /**
     * Refuses a YAML line longer than {@link #MAX_YAML_LINE} as it is read (SnakeYAML's cost grows with the square of
     * a line's length), saying which line and how long it is.
     */
    private static final class YamlLines extends CharFilter {
        private int line = 1;
        private int column;

        YamlLines(Reader in) {
            super(in);
        }

        @Override
        public int read(char[] buffer, int offset, int length) throws IOException {
            int read = super.read(buffer, offset, length);
            for (int i = offset; i < offset + read; i++) {
                if (buffer[i] == '\n') {
                    line++;
                    column = 0;
                } else if (++column > MAX_YAML_LINE) {
                    long total = column + restOfLine(buffer, i + 1, offset + read);
                    throw new ManifestException("manifest", "line " + line + " is " + total + " characters long;"
                            + " a YAML manifest's lines are at most " + MAX_YAML_LINE + ": break the value over"
                            + " several lines (YAML folds quoted strings), or write the manifest as JSON");
                }
            }
            return read;
        }

        private long restOfLine(char[] buffer, int from, int to) throws IOException {
            long rest = 0;
            for (int i = from; i < to; i++, rest++) {
                if (buffer[i] == '\n') {
                    return rest;
                }
            }
            for (int c; (c = in.read()) >= 0 && c != '\n'; ) {
                rest++;
            }
            return rest;
        }
    }

    /** Refuses text that is not UTF-8 as such, wherever the parser is when it reads it. */
    private static final class StrictUtf8 extends CharFilter {
        StrictUtf8(Reader in) {
            super(in);
        }

        @Override
        public int read(char[] buffer, int offset, int length) throws IOException {
            try {
                return super.read(buffer, offset, length);
            } catch (CharacterCodingException e) {
                throw new ManifestException("manifest", "is not UTF-8 text: save it as UTF-8");
            }
        }
    }

    /** A filter whose one-character read goes through its read of many, where the filtering is. */
    private abstract static class CharFilter extends FilterReader {
        CharFilter(Reader in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            char[] one = new char[1];
            return read(one, 0, 1) < 0 ? -1 : one[0];
        }
    }

    /** A file that grows past the limit while it is read is refused as one that was too large to begin with. */
    private static final class Limited extends FilterInputStream {
        private final long maxBytes;
        private long count;

        Limited(InputStream in, long maxBytes) {
            super(in);
            this.maxBytes = maxBytes;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            counted(b < 0 ? 0 : 1);
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int read = super.read(buffer, offset, length);
            counted(Math.max(read, 0));
            return read;
        }

        private void counted(int read) {
            count += read;
            checkSize(count, maxBytes);
        }
    }

    /** A JSON value given on the command line (such as --job-resources), as strictly as a manifest. */
    public static JsonNode parseJson(String text, String field) {
        return read(JSON, "JSON", new StringReader(text), field, WrittenTree::read);
    }

    /** Runs body over the parser, then refuses anything after the value; parser errors say where and what. */
    private static <T> T read(ObjectMapper mapper, String format, Reader text, String field, Body<T> body) {
        try (JsonParser parser = mapper.createParser(text)) {
            T value = body.read(parser);
            if (parser.nextToken() != null) {
                throw new ManifestException(field, (format.equals("YAML")
                        ? "holds a second YAML document" + at(parser.currentTokenLocation())
                        + ": one manifest is one document; remove the '---' and what follows, or use two files"
                        : "has more after the end of the JSON value" + at(parser.currentTokenLocation())
                        + ": remove it"));
            }
            return value;
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
