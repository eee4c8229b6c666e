package dev.drover.manifest;

import dev.drover.manifest.JobResources;
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

    @Test
    void aTaskMayGiveItsOwnResourcesAsAStringOrAMapAndEqualSetsShareOneEntry() {
        Manifest m = ManifestReader.parse("""
                name: own
                tasks:
                  - {command: [a]}
                  - {command: [b], jobResources: "mem=4G,cpus-per-task=2"}
                  - {command: [c], jobResources: {cpus_per_task: 2, mem: 4G}}
                  - {command: [d], jobResources: {time: "10:00"}}
                  - {command: [e], jobResources: {}}
                  - {command: [f], jobResources: null}
                """);
        TaskSource tasks = m.tasks();
        assertEquals(3, tasks.resourceSets().size(), "none, {mem, cpus}, {time}");
        assertEquals(JobResources.NONE, tasks.resourceSets().get(0));
        assertEquals(0, tasks.resourceSet(0));
        assertEquals(tasks.resourceSet(1), tasks.resourceSet(2), "string and map, any order, dashes or not");
        assertEquals(Map.of("mem", "4G", "cpus_per_task", "2"), tasks.resourceSets().get(tasks.resourceSet(1)).asMap());
        assertEquals(Map.of("time", "10:00"), tasks.resourceSets().get(tasks.resourceSet(3)).asMap());
        assertEquals(0, tasks.resourceSet(4), "an empty map is no resources of its own");
        assertEquals(0, tasks.resourceSet(5));
        assertEquals(1, ManifestReader.parse("name: n\ntasks: [{command: [a]}]").tasks().resourceSets().size());
    }

    @Test
    void aTasksBadResourcesAreRefusedNamingTheTaskAndTheKeyInOneLine() {
        String[][] cases = {
                {"{mem: lots}", "tasks[1].jobResources.mem", "500M"},
                {"'mem=lots'", "tasks[1].jobResources.mem", "500M"},
                {"{memory: 4G}", "tasks[1].jobResources.memory", "valid keys"},
                {"{time: '10:75'}", "tasks[1].jobResources.time", "SLURM time"},
                {"{mem: [4G]}", "tasks[1].jobResources.mem", "string or a number"},
                {"[mem=4G]", "tasks[1].jobResources", "map"},
                {"''", "tasks[1].jobResources", "empty"},
                {"'mem'", "tasks[1].jobResources", "key=value"},
                {"{batch_size: 5}", "tasks[1].jobResources.batch_size", "whole run"},
                {"{image: 'alpine:3'}", "tasks[1].jobResources.image", "whole run"},
                {"{namespace: batch}", "tasks[1].jobResources.namespace", "whole run"},
                // hostile values: nothing may reach a generated script but what SLURM accepts for the key
                {"{mem: \"4G\\n#SBATCH --wrap=reboot\"}", "tasks[1].jobResources.mem", "control character"},
                {"{partition: '-x'}", "tasks[1].jobResources.partition", "option"},
                {"{time: '$(reboot)'}", "tasks[1].jobResources.time", "SLURM time"},
                {"{gres: 'gpu:1;rm -rf /'}", "tasks[1].jobResources.gres", "generic resources"},
                {"{mem: \"4G\\u0000\"}", "tasks[1].jobResources.mem", "NUL"},
        };
        for (String[] c : cases) {
            ManifestException error = refused("name: bad\ntasks:\n  - {command: [a]}\n  - {command: [b], jobResources: "
                    + c[0] + "}\n");
            assertEquals(c[1], error.field(), c[0] + ": " + error.getMessage());
            assertTrue(error.getMessage().contains(c[2]), c[0] + ": " + error.getMessage());
            assertTrue(!error.getMessage().contains("\n"), "one line: " + error.getMessage());
        }
    }

    @Test
    void generatedTasksHaveNoResourcesOfTheirOwnAndSaySoWhenGivenSome() {
        ManifestException items = refused("name: g\ncommand: [x, '{item}']\nitems: [{jobResources: {mem: 4G}}]");
        assertEquals("items[0].jobResources", items.field());
        assertTrue(items.getMessage().contains("tasks: [{command"), items.getMessage());
        assertEquals("range.jobResources", refused("name: g\ncommand: [x]\nrange: {end: 3, jobResources: 'mem=1G'}")
                .field());
        assertEquals(1, ManifestReader.parse("name: g\ncommand: [x]\nrange: {end: 3}\njobResources: mem=1G").tasks()
                .resourceSets().size());
    }

    @Test
    void aListMayGiveAThousandDifferentResourceSetsButNotMore() {
        StringBuilder text = new StringBuilder("name: many\ntasks:\n");
        for (int i = 1; i <= TaskResourceSets.MAX_SETS; i++) {
            text.append("  - {command: [a], jobResources: {mem: ").append(i).append("M}}\n");
        }
        assertEquals(TaskResourceSets.MAX_SETS + 1, ManifestReader.parse(text.toString()).tasks().resourceSets().size());
        text.append("  - {command: [a], jobResources: {mem: 2G}}\n");
        ManifestException error = refused(text.toString());
        assertEquals("tasks[" + TaskResourceSets.MAX_SETS + "].jobResources", error.field());
        assertTrue(error.getMessage().contains("at most " + TaskResourceSets.MAX_SETS), error.getMessage());
    }

    @Test
    void argvIdsAndEnvironmentKeepNumbersAsWrittenWhileNumericFieldsReadTheirValues() {
        Manifest m = ManifestReader.parse("name: n\njobs: 4\nretries: 2\nenv: {MODE: 0755, ON: yes}\ntasks:\n"
                + "  - {id: 007, command: [chmod, 0755, f], env: {N: 1e3}}\n"
                + "  - {id: 010, command: [printf, '%s', 010, 0x1F, 1_000, off]}\n");
        TaskSpec first = m.tasks().task(0);
        assertEquals("007", first.id());
        assertEquals(List.of("chmod", "0755", "f"), first.command());
        assertEquals("0755", first.env().get("MODE"));
        assertEquals("yes", first.env().get("ON"));
        assertEquals("1e3", first.env().get("N"));
        TaskSpec second = m.tasks().task(1);
        assertEquals("010", second.id());
        assertEquals(List.of("printf", "%s", "010", "0x1F", "1_000", "off"), second.command());
        assertEquals(2, m.retries());
    }
}
