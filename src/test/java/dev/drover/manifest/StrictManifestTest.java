package dev.drover.manifest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the parser refuses instead of guessing, and the bounds that keep hostile input cheap to refuse. */
class StrictManifestTest {

    private static final String TASKS = "tasks: [{command: [x]}]\n";
    private static final String JSON_TASKS = "\"tasks\": [{\"command\": [\"x\"]}]";

    @TempDir
    Path dir;

    private static ManifestException refused(String text) {
        return assertThrows(ManifestException.class, () -> ManifestReader.parse(text));
    }

    @Test
    void duplicateKeysAreRefusedNamingTheKeyInYamlAndJson() {
        ManifestException twoTaskBlocks = refused("name: a\ntasks: [{command: [x]}]\ntasks: [{command: [y]}]\n");
        assertTrue(twoTaskBlocks.getMessage().contains("'tasks' is given twice (line 3"), twoTaskBlocks.getMessage());
        assertTrue(refused("name: a\ntasks:\n  - command: [x]\n    env: {A: 1, A: 2}\n").getMessage()
                .contains("'tasks[0].env.A' is given twice"));
        assertTrue(refused("{\"name\": \"a\", \"name\": \"b\", " + JSON_TASKS + "}").getMessage()
                .contains("'name' is given twice"));
        assertTrue(refused("{\"name\": \"a\", \"tasks\": [{\"command\": [\"x\"]}, {\"id\": 1, \"id\": 2}]}")
                .getMessage().contains("'tasks[1].id' is given twice"));
    }

    @Test
    void oneDocumentAndNothingAfterIt() {
        assertTrue(refused("name: a\n" + TASKS + "---\nname: b\n" + TASKS).getMessage().contains("second YAML document"));
        assertTrue(refused("name: a\n" + TASKS + "---\n").getMessage().contains("second YAML document"));
        assertEquals("a", ManifestReader.parse("---\nname: a\n" + TASKS).name(), "a leading '---' is one document");
        assertTrue(refused("{\"name\": \"a\", " + JSON_TASKS + "} {}").getMessage().contains("more after the end"));
        assertEquals("manifest", refused("{\"name\": \"a\", " + JSON_TASKS + "} trailing").field());
    }

    @Test
    void jsonIsReadAsJsonOnlyAndNeverRetriedAsYaml() {
        // a trailing comma made the JSON parser fail and the YAML parser accept it
        ManifestException comma = refused("{\"name\": \"a\", " + JSON_TASKS + ",}");
        assertTrue(comma.getMessage().contains("trailing comma"), comma.getMessage());
        assertTrue(refused("{\"name\": \"a\", \"tasks\": [{\"command\": [\"x\"],}]}").getMessage().contains("trailing comma"));
        assertTrue(refused("{\"name\": a, " + JSON_TASKS + "}").getMessage().contains("not valid JSON"));
        assertEquals("a", ManifestReader.parse("\uFEFF{\"name\": \"a\", " + JSON_TASKS + "}").name(), "a BOM is skipped");
        assertEquals("flow", ManifestReader.parse("{name: flow, " + TASKS.trim() + "}").name(), "YAML flow style");
    }

    @ParameterizedTest
    @ValueSource(strings = {"tasks: [{command: [\"a\\0b\"]}]", "tasks: [{command: [x], workdir: \"/tmp\\0x\"}]",
            "command: [x, '{item}']\nitems: [\"a\\0\"]", "env: {A: \"\\0\"}\n" + TASKS, "tasks: [{command: [x], id: \"a\\0\"}]"})
    void aNulByteIsRefusedWhereverItIs(String body) {
        assertTrue(refused("name: a\n" + body).getMessage().contains("NUL"));
    }

    @Test
    void numbersInQuotesSayHowToWriteThem() {
        ManifestException jobs = refused("name: a\njobs: \"4\"\n" + TASKS);
        assertEquals("jobs: is the string '4': write 4 without quotes", jobs.getMessage());
        assertEquals("retries", refused("name: a\nretries: '2'\n" + TASKS).field());
        assertEquals("range.end", refused("name: a\ncommand: [x]\nrange: {end: '5'}").field());
        assertTrue(refused("name: a\njobs: 99999999999999999999\n" + TASKS).getMessage().contains("whole number"));
        assertTrue(refused("name: a\njobs: 2.5\n" + TASKS).getMessage().contains("whole number"));
    }

    @Test
    void timeoutsArePositiveWholeSecondsOrUnits() {
        for (String zeroOrLess : new String[]{"0", "0s", "-5s", "-5", "0h0m"}) {
            ManifestException e = refused("name: a\ntimeout: " + zeroOrLess + "\n" + TASKS);
            assertTrue(e.getMessage().contains("must be positive"), e.getMessage());
        }
        assertEquals(Duration.ofSeconds(5), ManifestReader.parse("name: a\ntimeout: 5\n" + TASKS).timeout());
        assertEquals(Duration.ofSeconds(5), ManifestReader.parse("name: a\ntimeout: '5'\n" + TASKS).timeout());
        assertEquals(Duration.ofMillis(1500), ManifestReader.parse("name: a\ntimeout: 1s500ms\n" + TASKS).timeout());
        assertEquals(Duration.ofDays(1).plusHours(2).plusMinutes(3).plusSeconds(4),
                ManifestReader.parse("name: a\ntimeout: 1d2h3m4s\n" + TASKS).timeout());
        for (String unreadable : new String[]{"1.5", "1.5h", "10M", "soon", "5 s", "1h-5m"}) {
            ManifestException e = refused("name: a\ntimeout: '" + unreadable + "'\n" + TASKS);
            assertTrue(e.getMessage().contains("is not a duration"), unreadable + ": " + e.getMessage());
        }
    }

    @Test
    void imagesKubernetesCannotPullAreRefused() {
        for (String bad : new String[]{"Team/Tool", "myRepo:1", "python:-x", "repo@sha256:abc", "a b", "tool:"}) {
            assertEquals("image", refused("name: a\nimage: '" + bad + "'\n" + TASKS).field(), bad);
        }
        assertEquals("Registry.Example.com:5000/team/tool:V1.2",
                ManifestReader.parse("name: a\nimage: Registry.Example.com:5000/team/tool:V1.2\n" + TASKS).image());
    }

    @Test
    void theSizeLimitIsCheckedBeforeParsingAndNamesSizeAndLimit() {
        String text = "name: a\n" + TASKS;
        ManifestException e = assertThrows(ManifestException.class, () -> ManifestReader.parse(text, 10));
        assertEquals("manifest: is " + text.length() + " bytes, more than the limit of 10 (drover.manifest.max-bytes):"
                + " split it, generate the tasks (command with items or range), or raise the limit", e.getMessage());
        // bytes, not characters: 'é' is two
        String accented = "name: a\nenv: {A: " + "é".repeat(20) + "}\n" + TASKS;
        assertThrows(ManifestException.class, () -> ManifestReader.parse(accented, accented.length() + 5));
        assertEquals("a", ManifestReader.parse(accented, accented.length() + 20).name());
        assertEquals("drover.manifest.max-bytes", assertThrows(ManifestException.class,
                () -> ManifestParser.maxBytes("lots")).field());
        assertEquals("drover.manifest.max-bytes", assertThrows(ManifestException.class,
                () -> ManifestParser.maxBytes(String.valueOf(ManifestParser.LARGEST + 1))).field());
        assertEquals(16L << 20, ManifestParser.maxBytes(" 16777216 "));
    }

    @Test
    void aHugeFileIsRefusedWithoutBeingRead() throws IOException {
        Path sparse = dir.resolve("huge.json");
        try (RandomAccessFile file = new RandomAccessFile(sparse.toFile(), "rw")) {
            file.setLength(200L << 20); // 200 MB that take no disk and would take seconds to read
        }
        ManifestException e = assertTimeoutPreemptively(Duration.ofSeconds(2), () ->
                assertThrows(ManifestException.class, () -> ManifestReader.read(sparse, 16L << 20)));
        assertTrue(e.getMessage().contains("is 209715200 bytes, more than the limit of "
                + (16L << 20)), e.getMessage());
    }

    @Test
    void filesThatAreNotManifestsSayWhat() throws IOException {
        assertTrue(assertThrows(ManifestException.class, () -> ManifestReader.read(dir.resolve("missing.yaml")))
                .getMessage().contains("no such file"));
        assertTrue(assertThrows(ManifestException.class, () -> ManifestReader.read(dir)).getMessage()
                .contains("not a regular file"));
        Path latin1 = Files.write(dir.resolve("latin1.yaml"), new byte[]{'n', 'a', 'm', 'e', ':', ' ', (byte) 0xe9});
        assertTrue(assertThrows(ManifestException.class, () -> ManifestReader.read(latin1)).getMessage()
                .contains("not UTF-8"));
    }

    @Test
    void longYamlLinesAreRefusedQuicklyJsonOnesAreRead() {
        String longValue = "x".repeat(ManifestParser.MAX_YAML_LINE + 1);
        ManifestException e = assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> refused("name: a\ntasks: [{command: [\"" + longValue + "\"]}]\n"));
        assertTrue(e.getMessage().contains("line 2 is"), e.getMessage());
        assertEquals(longValue, ManifestReader.parse("{\"name\": \"a\", \"tasks\": [{\"command\": [\"" + longValue
                + "\"]}]}").tasks().task(0).command().get(0));
    }

    @Test
    void aLongYamlTaskListParsesQuickly() {
        StringBuilder yaml = new StringBuilder("name: big\ntasks:\n");
        for (int i = 0; i < 60_000; i++) {
            yaml.append("  - id: t").append(i).append("\n    command: [python3, /opt/tools/process.py, --input, ")
                    .append("/data/in/sample-").append(i).append(".dat]\n");
        }
        assertTrue(yaml.length() > 3 << 20, "larger than SnakeYAML's default code-point limit");
        // a couple of seconds on a quiet machine; the bound leaves room for a loaded one
        Manifest big = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> ManifestReader.parse(yaml.toString()));
        assertEquals(60_000, big.tasks().size());
    }

    @Test
    void yamlAliasesDoNotMultiply() {
        StringBuilder bomb = new StringBuilder("name: a\n" + TASKS + "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (int i = 1; i < 9; i++) {
            bomb.append("x").append(i).append(": &a").append(i).append(" [*a").append(i - 1).append(", *a")
                    .append(i - 1).append(", *a").append(i - 1).append(", *a").append(i - 1).append("]\n");
        }
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> refused(bomb.toString()));
    }
}
