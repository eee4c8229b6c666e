package dev.drover.run;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The manifest hash of each run directory of a runs directory, for the registry's duplicate check. A run directory
 * never changes its manifest, so each one's plan.json is read once, when it is first seen complete (this process's
 * own are known from their creation); a look-up lists the names (made since by this or another drover process
 * sharing the folder) and reads only the new ones. A look-up used to read each name's hash through a Path per entry:
 * with thousands of runs in the folder, that made the acceptance of each queued manifest cost more than its run.
 */
final class RunDirectories {

    private final Path runsDir;
    private final Map<String, String> shaByName = new HashMap<>();
    private final Map<String, List<String>> namesBySha = new HashMap<>();

    RunDirectories(Path runsDir) {
        this.runsDir = runsDir;
    }

    /** A run directory this process has just made, before its files exist. */
    synchronized void made(String name, String sha256) {
        if (shaByName.putIfAbsent(name, sha256) == null) {
            namesBySha.computeIfAbsent(sha256, sha -> new ArrayList<>(1)).add(name);
        }
    }

    /** The names of the run directories, complete or being made here, whose manifest has this SHA-256. */
    synchronized List<String> withManifest(String sha256) {
        String[] names = runsDir.toFile().list();
        if (names == null && Files.isDirectory(runsDir)) {
            throw new UncheckedIOException(new java.io.IOException("cannot list the runs directory " + runsDir));
        }
        for (String name : names == null ? new String[0] : names) {
            if (!shaByName.containsKey(name)) {
                // not a run directory (.events), or one another process is still making: read again next time
                Recovery.Stored stored = Recovery.peek(runsDir.resolve(name), null);
                if (stored != null) {
                    made(name, stored.sha256());
                }
            }
        }
        return List.copyOf(namesBySha.getOrDefault(sha256, List.of()));
    }

    /** A run directory that is no more (removed by hand): forgotten. */
    synchronized void gone(String name) {
        String sha256 = shaByName.remove(name);
        List<String> same = sha256 == null ? null : namesBySha.get(sha256);
        if (same != null && same.remove(name) && same.isEmpty()) {
            namesBySha.remove(sha256);
        }
    }
}
