package dev.drover;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * drover's packages depend in one direction: manifest ← plan ← run ← cluster ← lanes (local, slurm, kubernetes) ←
 * serve ← camel ← cli. Read from the sources (imports and fully qualified names), so that a cycle is caught when it is
 * written, not when a third backend or a new intake cannot be added without pulling in the rest.
 */
class PackageDirectionTest {

    /** A package may use packages of a lower rank only; packages of the same rank (the lanes) not each other. */
    private static final Map<String, Integer> RANK = Map.ofEntries(
            Map.entry("manifest", 0), Map.entry("plan", 1), Map.entry("run", 2), Map.entry("cluster", 3),
            Map.entry("local", 4), Map.entry("slurm", 4), Map.entry("kubernetes", 4),
            Map.entry("serve", 5), Map.entry("report", 6), Map.entry("camel", 7), Map.entry("cli", 8));
    private static final Pattern USE = Pattern.compile("\\bdev\\.drover\\.([a-z]+)\\.");
    private static final Path SOURCES = Path.of("src/main/java/dev/drover");

    @Test
    void packagesDependInOneDirection() throws IOException {
        List<String> wrong = new ArrayList<>();
        int files = 0;
        try (Stream<Path> all = Files.walk(SOURCES)) {
            for (Path file : all.filter(f -> f.toString().endsWith(".java")).toList()) {
                files++;
                String own = SOURCES.relativize(file).getName(0).toString();
                Integer ownRank = RANK.get(own);
                assertTrue(ownRank != null, "package dev.drover." + own + " has no place in the order: add it to RANK"
                        + " in this test (and to docs), below the packages that use it");
                Matcher use = USE.matcher(Files.readString(file));
                while (use.find()) {
                    String used = use.group(1);
                    if (used.equals(own)) {
                        continue;
                    }
                    Integer usedRank = RANK.get(used);
                    if (usedRank == null || usedRank >= ownRank) {
                        wrong.add(SOURCES.relativize(file) + " uses dev.drover." + used);
                    }
                }
            }
        }
        assertTrue(files > 50, "the sources were not found from " + Path.of("").toAbsolutePath());
        assertTrue(wrong.isEmpty(), "dependencies against the package order " + RANK + ":\n" + String.join("\n",
                wrong.stream().distinct().toList()));
    }
}
