package dev.drover.manifest;

import dev.drover.manifest.JobResources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The compact task table a {@code tasks:} list is streamed into: every task back exactly as written. */
class TaskListTest {

    @TempDir
    Path dir;

    private static ManifestException refused(String text) {
        return assertThrows(ManifestException.class, () -> ManifestReader.parse(text));
    }

    /** JSON string literal. */
    private static String quoted(String value) {
        StringBuilder out = new StringBuilder("\"");
        value.chars().forEach(c -> out.append(c == '"' || c == '\\' || c < 0x20 ? String.format("\\u%04x", c)
                : String.valueOf((char) c)));
        return out.append('"').toString();
    }

    @Test
    void everyKindOfArgumentComesBackByteExactFromAFileAsFromAString() throws IOException {
        List<String> awkward = List.of("", " ", "a b", "'", "\"", "\\", "$HOME", "*", "\n", "\t", "é", "日本",
                "\uD83D\uDE00", "x".repeat(300), "-", "--", "{item}", "0", "null", "true", "1e3", "~");
        // a string longer than a chunk of the table, so that it spans two
        String huge = "y".repeat((1 << 20) + 17);
        StringBuilder json = new StringBuilder("{\"tasks\": [");
        int tasks = 3000;
        for (int i = 0; i < tasks; i++) {
            String arg = awkward.get(i % awkward.size());
            json.append(i == 0 ? "" : ",").append("{\"command\": [\"prog\", ").append(quoted(arg)).append(", ")
                    .append(quoted("unique-" + i)).append(i == 1500 ? ", " + quoted(huge) : "").append("]");
            if (i % 7 == 0) {
                json.append(", \"env\": {\"OWN\": ").append(quoted(arg)).append(", \"B\": \"own\"}");
            }
            if (i % 11 == 0) {
                json.append(", \"workdir\": ").append(quoted("/w/" + i));
            }
            if (i % 13 == 0) {
                json.append(", \"id\": ").append(quoted("own-" + i));
            }
            if (i % 17 == 0) {
                json.append(", \"jobResources\": {\"mem\": \"").append(1 + i % 3).append("G\"}");
            }
            json.append('}');
        }
        // the manifest's env and workdir come after the list, and still lie under every task's
        json.append("], \"name\": \"n\", \"env\": {\"A\": \"1\", \"B\": \"base\"}, \"workdir\": \"/base\"}");
        Path file = Files.writeString(dir.resolve("m.json"), json);
        Manifest fromFile = ManifestReader.read(file);
        Manifest fromString = ManifestReader.parse(json.toString());
        assertEquals(fromString.sha256(), fromFile.sha256());
        assertEquals(tasks, fromFile.tasks().size());
        for (int i = 0; i < tasks; i++) {
            TaskSpec task = fromFile.tasks().task(i);
            assertEquals(fromString.tasks().task(i), task);
            String arg = awkward.get(i % awkward.size());
            assertEquals(i == 1500 ? List.of("prog", arg, "unique-" + i, huge) : List.of("prog", arg, "unique-" + i),
                    task.command(), "task " + i);
            assertEquals(i % 13 == 0 ? "own-" + i : String.format("%04d", i), task.id());
            assertEquals(task.id(), fromFile.tasks().id(i));
            assertEquals(i % 7 == 0 ? Map.of("A", "1", "B", "own", "OWN", arg) : Map.of("A", "1", "B", "base"),
                    task.env());
            assertEquals(i % 11 == 0 ? "/w/" + i : "/base", task.workdir());
            JobResources own = fromFile.tasks().resourceSets().get(fromFile.tasks().resourceSet(i));
            assertEquals(i % 17 == 0 ? JobResources.parseTask(Map.of("mem", (1 + i % 3) + "G"), "t") : JobResources.NONE,
                    own, "task " + i);
        }
        assertEquals(4, fromFile.tasks().resourceSets().size(), "none and three distinct sets");
    }

    @Test
    void errorsComeInTheOrderOfAManifestReadWhole() {
        // the manifest's own fields first, even when the list comes before them
        assertEquals("name", refused("tasks: [{command: [x]}, {colour: red}]\nname: 'a b'\n").field());
        assertEquals("env.1X", refused("tasks: [{}]\nname: a\nenv: {1X: y}\n").field());
        assertEquals("tasks[0].command", refused("tasks: [{}]\nname: a\ntimeout: soon\n").field());
        assertEquals("tasks", refused("name: a\ntasks: {command: [x]}").field());
        assertEquals("tasks", refused("name: a\ntasks: null").field());
        // then the tasks in order: an id used twice before a later task's other problem
        assertEquals("tasks[2].id", refused("name: a\ntasks: [{id: x, command: [a]}, {command: [b]},"
                + " {id: x, command: [c]}, {command: 5}]").field());
        assertEquals("tasks[3].command", refused("name: a\ntasks: [{id: x, command: [a]}, {command: [b]},"
                + " {id: y, command: [c]}, {command: 5}]").field());
        // within the task that has a problem, its id's uniqueness comes first
        assertEquals("tasks[1].id", refused("name: a\ntasks: [{id: x, command: [a]}, {id: x}]").field());
        assertEquals("tasks[1].command", refused("name: a\ntasks: [{id: x, command: [a]}, {id: y}]").field());
        // a given id that is another task's default (the index, padded to the width of the whole list)
        StringBuilder eleven = new StringBuilder("name: a\ntasks:\n  - {id: '03', command: [a]}\n");
        for (int i = 1; i < 11; i++) {
            eleven.append("  - {command: [a]}\n");
        }
        assertEquals("tasks[3].id", refused(eleven.toString()).field());
        assertEquals("tasks[3].id", refused(eleven.append("  - {command: 5}\n").toString()).field());
        assertEquals(11, ManifestReader.parse(eleven.toString().replace("'03'", "'3'").replace(
                "  - {command: 5}\n", "")).tasks().size(), "'3' is not '03'");
    }

    @Test
    void deepNestingInATaskOrAfterAProblemIsRefusedQuickly() {
        String deepJson = "[".repeat(100_000) + "]".repeat(100_000);
        for (String manifest : List.of(
                "{\"name\": \"a\", \"tasks\": [{\"command\": " + deepJson + "}]}",
                "{\"name\": \"a\", \"tasks\": [{\"colour\": 1}, {\"command\": " + deepJson + "}]}",
                "name: a\ntasks: [{command: " + "[".repeat(10_000) + "]".repeat(10_000) + "}]\n",
                "name: a\ntasks:\n  - {colour: 1}\n  - command: " + "[".repeat(10_000) + "]".repeat(10_000) + "\n")) {
            ManifestException e = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> refused(manifest));
            assertEquals("manifest", e.field(), e.getMessage());
            assertTrue(e.getMessage().length() < 400, e.getMessage());
        }
    }

    @Test
    void aFileIsCopiedAsItWasReadAndRefusedIfItChangedSince() throws IOException {
        String yaml = "\uFEFFname: a\ntasks:\n  - command: [echo, é]\n";
        Path file = Files.writeString(dir.resolve("m.yaml"), yaml);
        Manifest m = ManifestReader.read(file);
        assertEquals(ManifestReader.parse(yaml).sha256(), m.sha256());
        Path copy = dir.resolve("copy.yaml");
        m.text().copyTo(copy);
        assertArrayEquals(yaml.getBytes(StandardCharsets.UTF_8), Files.readAllBytes(copy));
        assertEquals(yaml, m.text().string());
        Files.writeString(file, yaml.replace("echo", "rm"));
        assertTrue(assertThrows(ManifestException.class, () -> m.text().copyTo(copy)).getMessage().contains("changed"));
        assertTrue(Files.notExists(copy), "no half-right copy is left");
        assertThrows(ManifestException.class, () -> m.text().string());
    }
}
