package dev.drover.manifest;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ManifestReaderTest {

    private static ManifestException refused(String text) {
        return assertThrows(ManifestException.class, () -> ManifestReader.parse(text));
    }

    @Test
    void readsYamlTasksWithDefaultsAndOverrides() {
        Manifest m = ManifestReader.parse("""
                name: demo
                env: {A: "1", B: two}
                workdir: /tmp
                retries: 2
                timeout: 1h30m
                tasks:
                  - command: [echo, hi]
                  - id: custom
                    command: [sh, -c, "exit 3"]
                    env: {B: three}
                    workdir: /var
                """);
        assertEquals("demo", m.name());
        assertEquals(2, m.tasks().size());
        TaskSpec first = m.tasks().task(0);
        assertEquals("0", first.id());
        assertEquals(List.of("echo", "hi"), first.command());
        assertEquals(Map.of("A", "1", "B", "two"), first.env());
        assertEquals("/tmp", first.workdir());
        TaskSpec second = m.tasks().task(1);
        assertEquals("custom", second.id());
        assertEquals(Map.of("A", "1", "B", "three"), second.env());
        assertEquals("/var", second.workdir());
        assertEquals(2, m.retries());
        assertEquals(Duration.ofMinutes(90), m.timeout());
        assertNull(m.strategy());
        assertEquals(64, m.sha256().length());
    }

    @Test
    void readsJson() {
        Manifest m = ManifestReader.parse("{\"name\": \"j\", \"tasks\": [{\"command\": [\"true\"]}], \"jobs\": 3,"
                + " \"strategy\": \"sequential\", \"jobResources\": {\"mem\": \"1G\"}}");
        assertEquals(3, m.jobs());
        assertEquals("sequential", m.strategy());
        assertEquals(Map.of("mem", "1G"), m.jobResources());
    }

    @Test
    void defaultIdsAreZeroPaddedSoTheySortInOrder() {
        StringBuilder tasks = new StringBuilder("name: pad\ntasks:\n");
        for (int i = 0; i < 11; i++) {
            tasks.append("  - command: [\"true\"]\n");
        }
        Manifest m = ManifestReader.parse(tasks.toString());
        assertEquals("00", m.tasks().task(0).id());
        assertEquals("10", m.tasks().task(10).id());
    }

    @Test
    void expandsARangeGeneratorLazily() {
        Manifest m = ManifestReader.parse("""
                name: gen
                command: [process, "chunk-{item}", "--index={index}"]
                range: {start: 10, end: 20, step: 3}
                """);
        assertEquals(4, m.tasks().size()); // 10, 13, 16, 19
        TaskSpec last = m.tasks().task(3);
        assertEquals(List.of("process", "chunk-19", "--index=3"), last.command());
        assertEquals("3", last.id());
    }

    @Test
    void aMillionTaskRangeIsCheapToRead() {
        Manifest m = ManifestReader.parse("name: big\ncommand: [\"true\"]\nrange: {end: 1000000}\n");
        assertEquals(1_000_000, m.tasks().size());
        assertEquals("999999", m.tasks().task(999_999).id());
    }

    @Test
    void expandsAnItemsGenerator() {
        Manifest m = ManifestReader.parse("name: gen\ncommand: [convert, \"{item}\"]\nitems: [a.tif, b.tif, 3]\n");
        assertEquals(List.of("convert", "3"), m.tasks().task(2).command());
    }

    @Test
    void errorsNameTheFieldAndTheFix() {
        assertEquals("name", refused("tasks: [{command: [x]}]").field());
        assertTrue(refused("name: 'a b'\ntasks: [{command: [x]}]").getMessage().contains("letters, digits"));
        assertEquals("tasks", refused("name: a").field());
        assertEquals("tasks", refused("name: a\ntasks: []").field());
        assertEquals("tasks[0].command", refused("name: a\ntasks: [{id: x}]").field());
        assertTrue(refused("name: a\ntasks: [{command: echo hi}]").getMessage().contains("argv list"));
        assertEquals("tasks[1].id", refused("name: a\ntasks: [{id: x, command: [a]}, {id: x, command: [b]}]").field());
        assertEquals("tasks[0].id", refused("name: a\ntasks: [{id: ../x, command: [a]}]").field());
        assertEquals("tasks[0].colour", refused("name: a\ntasks: [{command: [a], colour: red}]").field());
        assertTrue(refused("name: a\nfoo: 1\ntasks: [{command: [a]}]").getMessage().contains("valid fields here are"));
        assertEquals("timeout", refused("name: a\ntimeout: soon\ntasks: [{command: [a]}]").field());
        assertEquals("retries", refused("name: a\nretries: -1\ntasks: [{command: [a]}]").field());
        assertEquals("jobs", refused("name: a\njobs: 0\ntasks: [{command: [a]}]").field());
        assertEquals("env.1X", refused("name: a\nenv: {1X: y}\ntasks: [{command: [a]}]").field());
        assertEquals("manifest", refused("name: [unclosed").field());
        assertEquals("manifest", refused("- just\n- a list").field());
    }

    @Test
    void readsYamlFlowStyleThatLooksLikeJson() {
        assertEquals("flow", ManifestReader.parse("{name: flow, tasks: [{command: [echo, hi]}]}").name());
    }

    @Test
    void refusesValuesThatWouldBreakLaterInsteadOfSayingWhy() {
        assertEquals("timeout", refused("name: a\ntimeout: 99999999999999999999s\ntasks: [{command: [a]}]").field());
        assertEquals("timeout", refused("name: a\ntimeout: 200000000000d\ntasks: [{command: [a]}]").field());
        assertEquals("timeout", refused("name: a\ntimeout: 400d\ntasks: [{command: [a]}]").field());
        assertEquals("env.X", refused("{\"name\": \"a\", \"env\": {\"X\": \"a\\u0000b\"}, \"tasks\": [{\"command\": [\"a\"]}]}").field());
        assertEquals("range", refused("name: a\ncommand: [x]\nrange: {start: -9223372036854775807, end: 9223372036854775807}").field());
        assertEquals(1, ManifestReader.parse("name: a\ncommand: [x]\nrange: {end: 10, step: 9223372036854775807}").tasks().size());
    }

    @Test
    void generatorErrors() {
        assertEquals("command", refused("name: a\ncommand: [x]\nitems: [1, 2]").field());
        assertEquals("items", refused("name: a\ncommand: [x]").field());
        assertEquals("range", refused("name: a\ncommand: [x, '{item}']\nitems: [1]\nrange: {end: 3}").field());
        assertEquals("range.end", refused("name: a\ncommand: [x]\nrange: {start: 5, end: 5}").field());
        assertEquals("range.step", refused("name: a\ncommand: [x]\nrange: {end: 5, step: 0}").field());
        assertEquals("command", refused("name: a\ncommand: [x]\nrange: {end: 5}\ntasks: [{command: [y]}]").field());
        assertEquals("range", refused("name: a\ncommand: [x]\nrange: {end: 20000000}").field());
    }

    @Test
    void escalateHasDefaultsBoundsAndNamesTheBadField() {
        String base = "name: e\ncommand: ['true']\nrange: {start: 0, end: 1}\n";
        assertEquals(Escalate.DEFAULT, ManifestReader.parse(base).escalate());
        Escalate e = ManifestReader.parse(base + "escalate: {mem: 1.5, maxMem: 64G, maxTime: '1-00:00:00'}")
                .escalate();
        assertEquals(new Escalate(1.5, 2, 64 * 1024, 1440), e);
        for (String[] bad : new String[][]{{"{mem: 0.5}", "escalate.mem"}, {"{time: 17}", "escalate.time"},
                {"{mem: two}", "escalate.mem"}, {"{maxMem: lots}", "escalate.maxMem"},
                {"{maxTime: 'x'}", "escalate.maxTime"}, {"{cpus: 2}", "escalate.cpus"}, {"2", "escalate"}}) {
            ManifestException error = refused(base + "escalate: " + bad[0]);
            assertEquals(bad[1], error.field(), bad[0]);
            assertTrue(!error.getMessage().contains("\n"), "one line: " + error.getMessage());
        }
    }
}
