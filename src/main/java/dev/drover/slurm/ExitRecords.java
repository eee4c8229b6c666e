package dev.drover.slurm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The exit files the array wrapper writes ({@code <task index>.exit} in the array's folder, renamed into place): the
 * tracker's only file-system access. Kept behind this seam because on a cluster the run directory is on a shared
 * filesystem where metadata operations are what admins ration, so tests count them.
 */
interface ExitRecords {

    /** The task indices that have an exit file in {@code dir}: one directory listing. */
    Set<Integer> written(Path dir);

    /** The exit code in a task's exit file; empty if there is none or it cannot be read yet. */
    OptionalInt read(Path dir, int taskIndex);

    String SUFFIX = ".exit";

    /** Where the wrapper writes a task's exit code. */
    static Path file(Path dir, int taskIndex) {
        return dir.resolve(taskIndex + SUFFIX);
    }

    /** The real files. */
    ExitRecords FILES = new ExitRecords() {
        private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ExitRecords.class);

        @Override
        public Set<Integer> written(Path dir) {
            Set<Integer> tasks = new HashSet<>();
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
                for (Path entry : entries) {
                    String name = entry.getFileName().toString();
                    try {
                        tasks.add(Integer.parseInt(name.substring(0, name.length() - SUFFIX.length())));
                    } catch (NumberFormatException ignored) {
                        // not a task's exit file
                    }
                }
            } catch (NoSuchFileException e) {
                // folder not visible yet (shared filesystem lag): nothing written as far as we can tell
            } catch (IOException e) {
                LOG.warn("cannot list the exit files in {}: {}", dir, e.toString());
            }
            return tasks;
        }

        @Override
        public OptionalInt read(Path dir, int taskIndex) {
            try {
                String text = Files.readString(file(dir, taskIndex), StandardCharsets.UTF_8).strip();
                return OptionalInt.of(Integer.parseInt(text));
            } catch (IOException | NumberFormatException e) {
                return OptionalInt.empty(); // being replaced or unreadable for now: the next cycle reads it again
            }
        }
    };
}
