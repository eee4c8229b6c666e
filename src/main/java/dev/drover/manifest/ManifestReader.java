package dev.drover.manifest;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a manifest (JSON or YAML, parsed by {@link ManifestParser}) and validates every field, so that nothing runs
 * unless the whole manifest is right. Each error names the field and the fix. Every intake reads through here, with
 * the size limit {@value ManifestParser#MAX_BYTES_KEY}. The top-level fields are read as small trees; a {@code tasks:}
 * or {@code items:} list streams into a compact table ({@link TaskListReader}, {@link ItemListReader}), its errors
 * held until the fields before it in the checks below have been checked.
 */
public final class ManifestReader {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final Pattern DURATION_PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");
    private static final Pattern WHOLE_NUMBER = Pattern.compile("[-+]?[0-9]+");
    private static final Set<String> TOP_LEVEL_FIELDS = Set.of("name", "tasks", "command", "items", "range",
            "strategy", "jobs", "jobResources", "env", "workdir", "retries", "timeout", "image", "escalate");
    private static final Set<String> RANGE_FIELDS = Set.of("start", "end", "step");
    /** A manifest larger than this is refused: tasks are indexed by int and tracked in arrays. */
    static final int MAX_TASKS = 10_000_000;

    private ManifestReader() {
    }

    /** Reads a manifest file no larger than the parser can hold (the installation's size limit applies at intake). */
    public static Manifest read(Path file) {
        return read(file, ManifestParser.LARGEST);
    }

    /** Reads a manifest file, refusing it unread when it is larger than maxBytes. */
    public static Manifest read(Path file, long maxBytes) {
        return validate(ManifestParser.readFile(file, maxBytes, ManifestReader::stream));
    }

    /**
     * Reads the copy of a manifest that drover accepted before (a run directory's): its size was checked at intake,
     * perhaps under a larger limit than today's, so none applies here.
     */
    public static Manifest readAccepted(Path file) {
        return read(file, ManifestParser.LARGEST);
    }

    /** Parses manifest text no larger than the parser can hold (the installation's size limit applies at intake). */
    public static Manifest parse(String text) {
        return parse(text, ManifestParser.LARGEST);
    }

    /** Parses manifest text, refusing it unparsed when its UTF-8 form is larger than maxBytes. */
    public static Manifest parse(String text, long maxBytes) {
        ManifestParser.checkSize(text, maxBytes);
        return validate(ManifestParser.read(text, ManifestReader::stream));
    }

    /** The manifest's fields as trees, but for a {@code tasks:} or {@code items:} list, which is read as it streams. */
    private record Fields(ObjectNode root, TaskListReader tasks, ItemListReader items) {
    }

    private static Fields stream(JsonParser parser) throws IOException {
        JsonToken start = parser.nextToken();
        if (start != JsonToken.START_OBJECT) {
            if (start != null) {
                WrittenTree.read(parser); // a syntax error in it is the one to report
            }
            throw new ManifestException("manifest", "must be a JSON/YAML object with at least 'name' and 'tasks'"
                    + " (or 'command' with 'items' or 'range')");
        }
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        TaskListReader tasks = null;
        ItemListReader items = null;
        for (String field; (field = parser.nextFieldName()) != null; ) {
            StreamedList list = null;
            if (parser.nextToken() == JsonToken.START_ARRAY) {
                if (field.equals("tasks")) {
                    list = tasks = new TaskListReader();
                } else if (field.equals("items")) {
                    list = items = new ItemListReader();
                }
            }
            if (list != null) {
                list.read(parser);
                root.putNull(field); // present, for the checks of which fields are given
            } else {
                root.set(field, WrittenTree.read(parser));
            }
        }
        return new Fields(root, tasks, items);
    }

    private static Manifest validate(ManifestParser.Parsed<Fields> parsed) {
        ObjectNode root = parsed.value().root();
        ManifestText text = parsed.text();
        rejectUnknownFields(root, TOP_LEVEL_FIELDS, "");
        String name = requiredText(root, "name");
        if (!NAME.matcher(name).matches()) {
            throw new ManifestException("name", "'" + name + "' is not allowed: use 1 to 64 letters, digits, '.', '_' or '-'");
        }
        Map<String, String> env = stringMap(root.get("env"), "env");
        String workdir = optionalText(root, "workdir");
        TaskSource tasks;
        if (root.has("tasks")) {
            for (String generatorField : List.of("command", "items", "range")) {
                if (root.has(generatorField)) {
                    throw new ManifestException(generatorField, "cannot be combined with 'tasks': either list the tasks,"
                            + " or give a 'command' template with 'items' or 'range'");
                }
            }
            if (parsed.value().tasks() == null) {
                throw new ManifestException("tasks", "must be a list of tasks, e.g. tasks: [{command: [echo, hi]}]");
            }
            tasks = parsed.value().tasks().finish(env, workdir);
        } else if (root.has("command")) {
            tasks = generator(root, parsed.value().items(), env, workdir);
        } else {
            throw new ManifestException("tasks", "missing: list the tasks (tasks: [{command: [...]}, ...]) or give a"
                    + " 'command' template with 'items' or 'range'");
        }
        String strategy = optionalText(root, "strategy");
        Integer jobs = root.has("jobs") ? positiveInt(root.get("jobs"), "jobs") : null;
        Object jobResources = jobResources(root.get("jobResources"), "jobResources");
        int retries = root.has("retries") ? nonNegativeInt(root.get("retries"), "retries") : 0;
        Duration timeout = root.has("timeout") ? duration(root.get("timeout"), "timeout") : null;
        String image = optionalText(root, "image");
        if (image != null && !ImageReference.isValid(image)) {
            throw new ManifestException("image", "'" + image + "' is not a container image reference: "
                    + ImageReference.problem(image));
        }
        return new Manifest(name, tasks, strategy, jobs, jobResources, env, workdir, retries, timeout, text, text.sha256(),
                image, Escalate.parse(root.get("escalate")));
    }

    private static TaskSource generator(JsonNode root, ItemListReader items, Map<String, String> env, String workdir) {
        List<String> template = argv(root.get("command"), "command");
        boolean usesItem = template.stream().anyMatch(arg -> arg.contains("{item}"));
        if (root.has("items") == root.has("range")) {
            throw new ManifestException(root.has("items") ? "range" : "items", "a 'command' template needs exactly one of"
                    + " 'items' (a list) or 'range' ({start: 0, end: 100}, end exclusive)");
        }
        if (root.has("items")) {
            if (items == null || items.count() == 0) {
                throw new ManifestException("items", "must be a non-empty list of values, one task each");
            }
            if (!usesItem) {
                throw new ManifestException("command", "the template does not use {item}, so every task would get the same"
                        + " command: put {item} where each item goes, e.g. [process, '{item}']");
            }
            List<String> values = items.finish();
            return new TaskGenerator(template, values, 0, 1, values.size(), env, workdir);
        }
        JsonNode range = root.get("range");
        if (!range.isObject()) {
            throw new ManifestException("range", "must be an object {start: 0, end: 100, step: 1} (end exclusive)");
        }
        if (range.has("jobResources")) {
            throw noGeneratedResources("range.jobResources");
        }
        rejectUnknownFields(range, RANGE_FIELDS, "range.");
        long start = range.has("start") ? longValue(range.get("start"), "range.start") : 0;
        if (!range.has("end")) {
            throw new ManifestException("range.end", "missing: give the end of the range (exclusive), e.g. range: {start: 0, end: 100}");
        }
        long end = longValue(range.get("end"), "range.end");
        long step = range.has("step") ? longValue(range.get("step"), "range.step") : 1;
        if (step <= 0) {
            throw new ManifestException("range.step", "must be a positive whole number, not " + step);
        }
        if (end <= start) {
            throw new ManifestException("range.end", "must be greater than range.start (" + start + "): the range would"
                    + " produce no tasks");
        }
        long count = java.math.BigInteger.valueOf(end).subtract(java.math.BigInteger.valueOf(start))
                .add(java.math.BigInteger.valueOf(step - 1)).divide(java.math.BigInteger.valueOf(step))
                .min(java.math.BigInteger.valueOf(Long.MAX_VALUE)).longValueExact();
        checkSize(count, "range");
        return new TaskGenerator(template, null, start, step, (int) count, Map.copyOf(env), workdir);
    }

    static ManifestException noGeneratedResources(String field) {
        return new ManifestException(field, "generated tasks (items, range) all share the manifest's jobResources;"
                + " for resources per task, list the tasks: tasks: [{command: [...], jobResources: {mem: 4G}}]");
    }

    static void checkSize(long count, String field) {
        if (count > MAX_TASKS) {
            throw new ManifestException(field, "gives " + count + " tasks; at most " + MAX_TASKS
                    + " fit one manifest: split it into several manifests");
        }
    }

    static void checkTaskId(String id, String field) {
        if (id.isEmpty() || id.length() > 128 || id.equals(".") || id.equals("..") || id.contains("/")
                || id.contains("\\") || id.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new ManifestException(field, "'" + id + "' cannot be used as a file name: use 1 to 128 characters"
                    + " without '/', '\\', control characters, and not '.' or '..'");
        }
    }

    static List<String> argv(JsonNode node, String field) {
        if (node == null || !node.isArray() || node.isEmpty()) {
            throw new ManifestException(field, "must be a non-empty argv list, e.g. [echo, hello]"
                    + " (commands run without a shell; use [sh, -c, '...'] for one)");
        }
        List<String> argv = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            argv.add(scalarText(node.get(i), field + "[" + i + "]"));
        }
        if (argv.get(0).isBlank()) {
            throw new ManifestException(field + "[0]", "the program to run is empty");
        }
        return argv;
    }

    static Map<String, String> stringMap(JsonNode node, String field) {
        if (node == null || node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw new ManifestException(field, "must be a map of NAME: value, e.g. {OMP_NUM_THREADS: 1}");
        }
        Map<String, String> map = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            if (!entry.getKey().matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw new ManifestException(field + "." + entry.getKey(), "is not a valid environment variable name:"
                        + " use letters, digits and '_', not starting with a digit");
            }
            map.put(entry.getKey(), scalarText(entry.getValue(), field + "." + entry.getKey()));
        }
        return map;
    }

    /** The run's or a task's jobResources as given (a string or a map of scalars), checked by {@link JobResources}. */
    static Object jobResources(JsonNode node, String field) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isObject()) {
            Map<String, String> map = new LinkedHashMap<>();
            node.fields().forEachRemaining(e -> map.put(e.getKey(), scalarText(e.getValue(), field + "." + e.getKey())));
            return map;
        }
        throw new ManifestException(field, "must be a string 'mem=1G,time=10:00' or a map {mem: 1G, time: '10:00'}");
    }

    /** The longest time limit a task may have; beyond it a limit means nothing (and would overflow). */
    static final Duration MAX_DURATION = Duration.ofDays(365);

    /**
     * A time limit: a whole number of seconds (timeout: 5), or numbers with units ms, s, m, h, d, combined as in
     * 1h30m. Zero and negative limits are refused as such, not as unreadable.
     */
    static Duration duration(JsonNode node, String field) {
        String text = node.isValueNode() ? node.asText().trim() : "";
        boolean negative = text.startsWith("-");
        String magnitude = negative ? text.substring(1) : text;
        Duration total = Duration.ZERO;
        int at = 0;
        try {
            if (WHOLE_NUMBER.matcher(magnitude).matches()) {
                total = Duration.ofSeconds(Long.parseLong(magnitude));
                at = magnitude.length();
            } else {
                Matcher part = DURATION_PART.matcher(magnitude);
                while (at < magnitude.length() && part.find(at) && part.start() == at) {
                    long n = Long.parseLong(part.group(1));
                    total = total.plus(switch (part.group(2)) {
                        case "ms" -> Duration.ofMillis(n);
                        case "s" -> Duration.ofSeconds(n);
                        case "m" -> Duration.ofMinutes(n);
                        case "h" -> Duration.ofHours(n);
                        default -> Duration.ofDays(n);
                    });
                    at = part.end();
                }
            }
        } catch (NumberFormatException | ArithmeticException tooLarge) {
            throw new ManifestException(field, "'" + text + "' is longer than the largest limit, "
                    + MAX_DURATION.toDays() + "d: give a shorter one or none");
        }
        if (magnitude.isEmpty() || at != magnitude.length()) {
            throw new ManifestException(field, "'" + text + "' is not a duration: give whole seconds (90) or whole"
                    + " numbers with units ms, s, m, h, d, e.g. 90s, 10m, 1h30m");
        }
        if (negative || total.isZero()) {
            throw new ManifestException(field, "'" + text + "' must be positive: give a limit such as 90s or 10m,"
                    + " or leave " + field + " out for none");
        }
        if (total.compareTo(MAX_DURATION) > 0) {
            throw new ManifestException(field, "'" + text + "' is longer than the largest limit, "
                    + MAX_DURATION.toDays() + "d: give a shorter one or none");
        }
        return total;
    }

    static void rejectUnknownFields(JsonNode node, Set<String> allowed, String prefix) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            if (!allowed.contains(field)) {
                throw new ManifestException(prefix + field, "unknown field; valid fields here are "
                        + String.join(", ", allowed.stream().sorted().toList()));
            }
        }
    }

    private static String requiredText(JsonNode node, String name) {
        return requiredText(node, name, name);
    }

    static String requiredText(JsonNode node, String name, String field) {
        JsonNode value = node.get(name);
        if (value == null || value.isNull()) {
            throw new ManifestException(field, "missing");
        }
        String text = scalarText(value, field);
        if (text.isBlank()) {
            throw new ManifestException(field, "is empty");
        }
        return text;
    }

    private static String optionalText(JsonNode node, String name) {
        return node.has(name) && !node.get(name).isNull() ? requiredText(node, name) : null;
    }

    static String scalarText(JsonNode node, String field) {
        if (node == null || !node.isValueNode() || node.isNull()) {
            throw new ManifestException(field, "must be a string or a number");
        }
        String text = node.asText();
        if (text.indexOf('\0') >= 0) {
            throw new ManifestException(field, "contains a NUL character, which no program argument, environment"
                    + " variable or path can hold: remove it");
        }
        return text;
    }

    private static long longValue(JsonNode node, String field) {
        if (node.isTextual() && WHOLE_NUMBER.matcher(node.asText().trim()).matches()) {
            throw new ManifestException(field, "is the string '" + node.asText() + "': write "
                    + node.asText().trim() + " without quotes");
        }
        if (!node.isIntegralNumber() || !node.canConvertToLong()) {
            throw new ManifestException(field, "must be a whole number, not '" + node.asText() + "'");
        }
        return node.asLong();
    }

    private static int positiveInt(JsonNode node, String field) {
        long value = longValue(node, field);
        if (value < 1 || value > Integer.MAX_VALUE) {
            throw new ManifestException(field, "must be a positive whole number, not " + value);
        }
        return (int) value;
    }

    private static int nonNegativeInt(JsonNode node, String field) {
        long value = longValue(node, field);
        if (value < 0 || value > 1000) {
            throw new ManifestException(field, "must be a whole number from 0 to 1000, not " + value);
        }
        return (int) value;
    }
}
