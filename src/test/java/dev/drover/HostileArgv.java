package dev.drover;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Arguments that trip shells and parsers, and a program that reports the argv it got exactly: for every strategy. */
public final class HostileArgv {

    private HostileArgv() {
    }

    /** Every character a manifest can hold but NUL (all of it in one argument), and the kinds of argument that trip parsers. */
    public static List<String> everyKindOfArgument() {
        StringBuilder all = new StringBuilder();
        for (int c = 1; c < 0x250; c++) {
            all.append((char) c);
        }
        all.append("\u2028\uFEFF\uD83D\uDE00"); // line separator, BOM, an emoji (a surrogate pair)
        return List.of(all.toString(), "a=b", "=", "-", "--", "-e", "--help", "'", "\"", "\\", "$HOME", "${X:-y}",
                "$(touch pwned)", "`touch pwned`", "*", "\n", "\r\n", " lead", "trail ", "", "é", "日本", "%s %n", "!");
    }

    /**
     * A generator's command template after its program: arguments that try to form or break the {item} and {index}
     * placeholders, then every kind of argument, alone and around an {item}.
     */
    public static List<String> everyKindOfTemplateArgument() {
        List<String> template = new ArrayList<>(List.of("{item}", "{index}", "", "x{item}y{index}z",
                "{item}{index}{item}", "{it{item}em}", "{index", "}{item", "{{index}}", "'{item}'", "\"{index}\"",
                "$x{item}", "\\{index}\\", "a b\n{item}\r\n", "日本{item}é", "{ITEM}", "{ item}"));
        for (String arg : everyKindOfArgument()) {
            template.add(arg);
            template.add(arg + "{item}" + arg);
        }
        return template;
    }

    /** Writes a program that prints each of its arguments followed by a NUL, and makes it executable. */
    public static Path argvPrinter(Path file) throws Exception {
        Files.createDirectories(file.getParent());
        Files.writeString(file, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\000' \"$a\"; done\n");
        assertTrue(file.toFile().setExecutable(true));
        return file;
    }

    /**
     * A manifest of two tasks, with retries 1: {@code env} prints the DROVER_* variables and a variable of the
     * manifest's own, whose env tries to set every DROVER_* (drover's must win), and fails its first attempt;
     * {@code argv} runs an {@link #argvPrinter} whose path holds '=' with {@link #everyKindOfArgument}.
     *
     * @param fields  further top-level fields (name, strategy, image, ...)
     * @param dir     where the printer and the first attempt's marker go
     */
    public static String envAndArgvManifest(Map<String, Object> fields, Path dir) throws Exception {
        Path marker = dir.resolve("env-marker");
        List<String> printer = new ArrayList<>(List.of(argvPrinter(dir.resolve("tools/a=b/tool=1")).toString()));
        printer.addAll(everyKindOfArgument());
        Map<String, Object> manifest = new LinkedHashMap<>(fields);
        manifest.put("retries", 1);
        manifest.put("env", Map.of("DROVER_RUN_ID", "x", "DROVER_TASK_ID", "x", "DROVER_TASK_INDEX", "x",
                "DROVER_ATTEMPT", "x", "MINE", "m"));
        manifest.put("tasks", List.of(Map.of("id", "env", "command", List.of("sh", "-c",
                        "echo \"$DROVER_RUN_ID|$DROVER_TASK_ID|$DROVER_TASK_INDEX|$DROVER_ATTEMPT|$MINE\";"
                                + " [ -e '" + marker + "' ] || { touch '" + marker + "'; exit 1; }")),
                Map.of("id", "argv", "command", printer)));
        Files.deleteIfExists(marker);
        return JsonMapper.builder().build().writeValueAsString(manifest);
    }

    /** Checks the logs of an {@link #envAndArgvManifest} run: drover's variables on both attempts, argv exact. */
    public static void assertEnvAndArgv(Path runDir, String runId) throws Exception {
        String log = Files.readString(runDir.resolve("logs/env.log"));
        assertTrue(log.startsWith(runId + "|env|0|1|m\n") && log.endsWith(runId + "|env|0|2|m\n"), log);
        assertEquals(everyKindOfArgument(), printed(runDir.resolve("logs/argv.log")), runDir.toString());
    }

    /** What an {@link #argvPrinter} wrote. */
    public static List<String> printed(Path log) throws Exception {
        String text = new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
        assertTrue(text.endsWith("\0"), "not an argv printer's output: " + text);
        return List.of(text.substring(0, text.length() - 1).split("\0", -1));
    }
}
