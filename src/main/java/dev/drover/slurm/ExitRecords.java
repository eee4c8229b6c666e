package dev.drover.slurm;

import dev.drover.run.TaskUsage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The exit records the array wrapper writes, one per element ({@code <element>.exit} in the array's folder): a line
 * per task as it ends, {@code index code}, then, when drover-launch ran the task, {@code wall_ms cpu_ms maxrss_bytes}.
 * The tracker's only file-system access. Kept behind this seam because on a cluster the run directory is on a shared
 * filesystem where metadata operations are what admins ration, so tests count them.
 */
interface ExitRecords {

    /** A task's exit code and what it used (null when it ran without drover-launch). */
    record Exit(int code, TaskUsage usage) {
    }

    /** The elements that have an exit record in {@code dir}: one directory listing. */
    Set<Integer> written(Path dir);

    /** The tasks an element's record has ended so far, task index to exit; empty if it cannot be read yet. */
    Map<Integer, Exit> read(Path dir, int element);

    String SUFFIX = ".exit";

    /** Where the wrapper writes an element's exit record. */
    static Path file(Path dir, int element) {
        return dir.resolve(element + SUFFIX);
    }

    /**
     * A record's text: its complete lines (a line still being appended has no newline yet and is left for the next
     * read); lines that are not drover's are skipped.
     */
    static Map<Integer, Exit> parse(String text) {
        Map<Integer, Exit> exits = new HashMap<>();
        int end = text.lastIndexOf('\n');
        for (String line : text.substring(0, end + 1).split("\n")) {
            String[] f = line.strip().split(" ");
            try {
                if (f.length == 2 || f.length == 5) {
                    exits.put(Integer.parseInt(f[0]), new Exit(Integer.parseInt(f[1]), f.length == 2 ? null
                            : new TaskUsage(Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]))));
                }
            } catch (NumberFormatException notALine) {
                // skipped
            }
        }
        return exits;
    }

    /** The real files. */
    ExitRecords FILES = new ExitRecords() {
        private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ExitRecords.class);

        @Override
        public Set<Integer> written(Path dir) {
            Set<Integer> elements = new HashSet<>();
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
                for (Path entry : entries) {
                    String name = entry.getFileName().toString();
                    try {
                        elements.add(Integer.parseInt(name.substring(0, name.length() - SUFFIX.length())));
                    } catch (NumberFormatException ignored) {
                        // not an element's exit record
                    }
                }
            } catch (NoSuchFileException e) {
                // folder not visible yet (shared filesystem lag): nothing written as far as we can tell
            } catch (IOException e) {
                LOG.warn("cannot list the exit records in {}: {}", dir, e.toString());
            }
            return elements;
        }

        @Override
        public Map<Integer, Exit> read(Path dir, int element) {
            try {
                return parse(Files.readString(file(dir, element), StandardCharsets.UTF_8));
            } catch (IOException e) {
                return Map.of(); // not visible yet or unreadable for now: the next cycle reads it again
            }
        }
    };
}
