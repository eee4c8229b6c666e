package dev.drover.slurm;

import dev.drover.run.TaskUsage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * The exit files the array wrapper writes ({@code <task index>.exit} in the array's folder, renamed into place): the
 * tracker's only file-system access. Kept behind this seam because on a cluster the run directory is on a shared
 * filesystem where metadata operations are what admins ration, so tests count them.
 * <p>
 * A record is one line: the exit code, then, when drover-launch ran the task, {@code wall_ms cpu_ms maxrss_bytes}.
 */
interface ExitRecords {

    /** A task's exit code and what it used (null when it ran without drover-launch). */
    record Exit(int code, TaskUsage usage) {

        /** A record's text; null when it is not one (being written, or not drover's). */
        static Exit parse(String text) {
            String[] f = text.strip().split(" ");
            try {
                int code = Integer.parseInt(f[0]);
                return new Exit(code, f.length == 4 ? new TaskUsage(Long.parseLong(f[1]), Long.parseLong(f[2]),
                        Long.parseLong(f[3])) : null);
            } catch (NumberFormatException e) {
                return null;
            }
        }
    }

    /** The task indices that have an exit file in {@code dir}: one directory listing. */
    Set<Integer> written(Path dir);

    /** A task's exit record; empty if there is none or it cannot be read yet. */
    Optional<Exit> read(Path dir, int taskIndex);

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
        public Optional<Exit> read(Path dir, int taskIndex) {
            try {
                return Optional.ofNullable(Exit.parse(Files.readString(file(dir, taskIndex), StandardCharsets.UTF_8)));
            } catch (IOException e) {
                return Optional.empty(); // being replaced or unreadable for now: the next cycle reads it again
            }
        }
    };
}
