package dev.drover.manifest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A generator's {@code items:}, streamed into a compact {@link ItemList}: every item back exactly as written. */
class ItemListTest {

    @TempDir
    Path dir;

    private static ManifestException refused(String text) {
        return assertThrows(ManifestException.class, () -> ManifestReader.parse(text));
    }

    private static List<String> items(String manifest) {
        TaskSource tasks = ManifestReader.parse(manifest).tasks();
        return java.util.stream.IntStream.range(0, tasks.size()).mapToObj(i -> tasks.task(i).command().get(1)).toList();
    }

    /** JSON (and YAML double-quoted) string literal; YAML takes control characters and DEL only escaped. */
    private static String quoted(String value) {
        StringBuilder out = new StringBuilder("\"");
        value.chars().forEach(c -> out.append(c == '"' || c == '\\' || c < 0x20 || c == 0x7f
                ? String.format("\\u%04x", c) : String.valueOf((char) c)));
        return out.append('"').toString();
    }

    @Test
    void everyScalarTheRulesAcceptBecomesItsText() {
        String yaml = "name: g\ncommand: [x, '{item}']\nitems: [plain, 'single q', \"double q\", \"4\", 4, -7, 1.5,"
                + " true, false, '', ' ', '#', 'null', 1e3, 007, yes, 010, 0x1F, 1_000, 12.50, .5, +1, on, 1E400]\n";
        // unquoted numbers and booleans are the text they were written as, not YAML's reading of it (8 for 010)
        assertEquals(List.of("plain", "single q", "double q", "4", "4", "-7", "1.5", "true", "false", "", " ", "#",
                "null", "1e3", "007", "yes", "010", "0x1F", "1_000", "12.50", ".5", "+1", "on", "1E400"), items(yaml));
        String json = "{\"name\": \"g\", \"command\": [\"x\", \"{item}\"], \"items\": [\"plain\", \"4\", 4, -7, 1.5,"
                + " true, false, \"\", \"null\", 1e3, 1E400, 12.50, -0, 123456789012345678901234567890]}";
        assertEquals(List.of("plain", "4", "4", "-7", "1.5", "true", "false", "", "null", "1e3", "1E400", "12.50",
                "-0", "123456789012345678901234567890"), items(json));
    }

    @Test
    void itemsThatAreNotScalarsAreRefusedNamingTheItem() {
        String head = "name: g\ncommand: [x, '{item}']\nitems: ";
        for (String bad : List.of("null", "~", "[a]", "[]", "{a: 1}", "{}")) {
            ManifestException e = refused(head + "[ok, " + bad + ", [also, bad]]");
            assertEquals("items[1]", e.field(), bad);
            assertTrue(e.getMessage().contains("must be a string or a number"), e.getMessage());
            ManifestException json = refused("{\"name\": \"g\", \"command\": [\"x\", \"{item}\"], \"items\": [\"ok\", "
                    + bad.replace("~", "null").replace("a", "\"a\"") + ", [\"also\", \"bad\"]]}");
            assertEquals("items[1]", json.field(), bad);
        }
        ManifestException resources = refused(head + "[ok, ok, {jobResources: {mem: 4G}}]");
        assertEquals("items[2].jobResources", resources.field());
        assertTrue(resources.getMessage().contains("tasks: [{command"), resources.getMessage());
        ManifestException nul = refused("{\"name\": \"g\", \"command\": [\"x\", \"{item}\"],"
                + " \"items\": [\"a\", \"b\\u0000\"]}");
        assertEquals("items[1]", nul.field());
        assertTrue(nul.getMessage().contains("NUL"), nul.getMessage());
        for (String notAList : List.of("[]", "null", "a.tif", "{a: 1}", "5")) {
            ManifestException e = refused(head + notAList);
            assertEquals("items", e.field(), notAList);
            assertTrue(e.getMessage().contains("non-empty list"), e.getMessage());
        }
        assertEquals("items", refused("{\"name\": \"g\", \"command\": [\"x\", \"{item}\"], \"items\": []}").field());
    }

    @Test
    void errorsComeInTheOrderOfAManifestReadWhole() {
        // the manifest's own fields and the template first, even when the items come before them
        assertEquals("name", refused("items: [a, null]\ncommand: [x, '{item}']\nname: 'a b'\n").field());
        assertEquals("env.1X", refused("items: [a, null]\ncommand: [x, '{item}']\nname: a\nenv: {1X: y}\n").field());
        assertEquals("command", refused("items: [a, null]\ncommand: [x]\nname: a\n").field());
        assertEquals("command", refused("items: [a, null]\ncommand: []\nname: a\n").field());
        assertEquals("range", refused("items: [a, null]\ncommand: [x, '{item}']\nname: a\nrange: {end: 2}\n").field());
        assertEquals("items", refused("items: [a, null]\nname: a\ntasks: [{command: [x]}]\n").field());
        // then the items in order: the first bad one, not a later one
        assertEquals("items[1]", refused("items: [a, [b], null, {jobResources: 1}]\ncommand: [x, '{item}']\nname: a\n"
                + "timeout: 5\n").field());
        // the list's fields are as strict as the rest: a key given twice
        assertTrue(refused("name: a\ncommand: [x, '{item}']\nitems: [a]\nitems: [b]\n").getMessage()
                .contains("'items' is given twice"));
        // deep nesting in an item, or after a bad one, is refused quickly by the parser's depth limit
        for (String manifest : List.of(
                "{\"name\": \"a\", \"command\": [\"x\", \"{item}\"], \"items\": [" + "[".repeat(100_000)
                        + "]".repeat(100_000) + "]}",
                "name: a\ncommand: [x, '{item}']\nitems:\n  - null\n  - " + "[".repeat(10_000) + "]".repeat(10_000)
                        + "\n")) {
            ManifestException e = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> refused(manifest));
            assertEquals("manifest", e.field(), e.getMessage());
        }
        // YAML's line limit holds inside the list
        assertTrue(refused("name: a\ncommand: [x, '{item}']\nitems:\n  - " + "y".repeat(ManifestParser.MAX_YAML_LINE)
                + "\n").getMessage().contains("line 4 is"));
    }

    @Test
    void aHundredThousandItemsComeBackByteExactFromYamlAndJsonFilesAsFromStrings() throws IOException {
        List<String> awkward = List.of("", " ", "a b", "'", "\"", "\\", "$HOME", "*", "\n", "\t", "\r\n", "é", "日本",
                "\uD83D\uDE00", "x".repeat(300), "-", "--", "{item}", "{index}", "0", "null", "true", "1e3", "~",
                "# not a comment", "- not a list", "a: b", "\u007f", "\u2028");
        String huge = "y".repeat((1 << 20) + 17); // longer than a chunk of the store, so that it spans two
        int n = 100_000;
        IntFunction<String> item = i -> i == 50_000 ? huge : i % 2 == 0 ? awkward.get(i / 2 % awkward.size()) : "c" + i;
        StringBuilder json = new StringBuilder("{\"name\": \"g\", \"command\": [\"x\", \"{item}\", \"-{index}-\"],"
                + " \"items\": [");
        // YAML double-quoted strings take JSON's escapes; YAML's lines are limited, so the huge item is folded
        StringBuilder yaml = new StringBuilder("items:\n");
        for (int i = 0; i < n; i++) {
            String literal = quoted(item.apply(i));
            json.append(i == 0 ? "" : ", ").append(literal);
            yaml.append("  - ").append(i == 50_000 ? folded(literal) : literal).append('\n');
        }
        json.append("]}");
        yaml.append("name: g\ncommand: [x, \"{item}\", \"-{index}-\"]\n");
        for (String text : List.of(json.toString(), yaml.toString())) {
            Path file = Files.writeString(dir.resolve("m"), text);
            TaskSource fromFile = ManifestReader.read(file).tasks();
            TaskSource fromString = ManifestReader.parse(text).tasks();
            assertEquals(n, fromFile.size());
            for (int i = 0; i < n; i++) {
                TaskSpec task = fromFile.task(i);
                // the generator's rule: {item} replaced, then {index} (also within the item)
                String expected = item.apply(i).replace("{index}", Integer.toString(i));
                assertEquals(List.of("x", expected, "-" + i + "-"), task.command(), "item " + i);
                assertEquals(String.format("%05d", i), task.id());
                assertEquals(task, fromString.task(i));
            }
        }
    }

    /** A double-quoted YAML scalar broken over lines of at most 1000 characters, each break escaped. */
    private static String folded(String literal) {
        StringBuilder out = new StringBuilder();
        for (int at = 0; at < literal.length(); at += 1000) {
            out.append(at == 0 ? "" : "\\\n    ").append(literal, at, Math.min(literal.length(), at + 1000));
        }
        return out.toString();
    }

    /**
     * A million items (a 13.9 MB manifest) validate through the command a user runs, in its own JVM, with a heap well
     * under bin/drover's 160 MB: the code before (a tree of a million nodes and a million Strings) ran out in 64 MB.
     */
    @Test
    void aMillionItemsValidateInASmallHeap() throws Exception {
        Path manifest = dir.resolve("items.yaml");
        try (Writer out = Files.newBufferedWriter(manifest)) {
            out.write("name: scale-items\ncommand: [convert, \"{item}\"]\nitems:\n");
            for (int i = 0; i < 1_000_000; i++) {
                out.write("  - \"c" + i + "\"\n");
            }
        }
        Process validate = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx48m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                "dev.drover.cli.DroverCommand", "validate", manifest.toString())
                .redirectErrorStream(true).start();
        assertTrue(validate.waitFor(5, TimeUnit.MINUTES), "validate did not end within 5 minutes");
        String output = new String(validate.getInputStream().readAllBytes());
        assertEquals(0, validate.exitValue(), output);
        assertTrue(output.contains("1000000 tasks"), output);
    }
}
