package dev.drover.cli;

import dev.drover.report.Rerun;
import dev.drover.serve.RunStatus;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * For `drover status RUN_ID`: the runs this one reruns (back to the first) and the reruns made of it, each with its
 * state and failures, from the rerun-of marks drover rerun leaves in run directories.
 */
record RerunChain(String rerunOf, List<RunStatus> before, List<RunStatus> reruns) {

    /** Bounds the walk back, whatever the marks say (a loop cannot be made by drover, but files can be edited). */
    private static final int MAX_DEPTH = 1000;

    static RerunChain of(RunStatus run, Path runsDir) throws IOException {
        List<RunStatus> before = new ArrayList<>();
        Set<String> seen = new HashSet<>(Set.of(run.runId()));
        String first = Rerun.of(run.dir());
        for (String id = first; id != null && before.size() < MAX_DEPTH && seen.add(id); ) {
            Path dir = RunArgument.find(runsDir, id);
            if (dir == null) {
                break; // removed, or in another runs directory
            }
            RunStatus earlier = RunStatus.read(dir);
            before.add(earlier);
            id = Rerun.of(dir);
        }
        Collections.reverse(before);
        List<RunStatus> reruns = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(runsDir)) {
            for (Path dir : dirs.filter(d -> run.runId().equals(Rerun.of(d))).toList()) {
                reruns.add(RunStatus.read(dir));
            }
        }
        reruns.sort(java.util.Comparator.comparing(RunStatus::acceptedAt,
                java.util.Comparator.nullsLast(java.util.Comparator.naturalOrder())));
        return new RerunChain(first, before, reruns);
    }

    void print(PrintStream out) {
        if (!before.isEmpty()) {
            StringBuilder chain = new StringBuilder();
            before.forEach(r -> chain.append(brief(r)).append(" -> "));
            out.printf("rerun of  %sthis run%n", chain);
        } else if (rerunOf != null) {
            out.printf("rerun of  %s (no longer in this runs directory)%n", rerunOf);
        }
        if (!reruns.isEmpty()) {
            out.printf("reruns    %s%n", String.join(", ", reruns.stream().map(RerunChain::brief).toList()));
        }
    }

    private static String brief(RunStatus run) {
        int failed = run.counts().getOrDefault("failed", 0);
        return run.runId() + " " + run.state() + (failed > 0 ? " (" + failed + " failed)" : "");
    }
}
