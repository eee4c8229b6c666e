package dev.drover;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

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

    /** Writes a program that prints each of its arguments followed by a NUL, and makes it executable. */
    public static Path argvPrinter(Path file) throws Exception {
        Files.createDirectories(file.getParent());
        Files.writeString(file, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\000' \"$a\"; done\n");
        assertTrue(file.toFile().setExecutable(true));
        return file;
    }

    /** What an {@link #argvPrinter} wrote. */
    public static List<String> printed(Path log) throws Exception {
        String text = new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
        assertTrue(text.endsWith("\0"), "not an argv printer's output: " + text);
        return List.of(text.substring(0, text.length() - 1).split("\0", -1));
    }
}
