package dev.drover.slurm;

import dev.drover.camel.DroverRuntime;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * A drover runtime for tests on the real cluster that polls SLURM often (its tasks end within seconds, and a test
 * should see it soon), and its stop: the runs still going cancelled, so no array outlives the test class.
 */
final class QuickSlurmRuntime {

    private QuickSlurmRuntime() {
    }

    static DroverRuntime start(Path runsDir) throws Exception {
        return DroverRuntime.start(Path.of("").toAbsolutePath(), Map.of(
                "drover.runs-dir", runsDir.toString(),
                "drover.slurm.poll-initial", "200",
                "drover.slurm.poll-max", "1000",
                "drover.slurm.squeue-min-interval", "500",
                "drover.slurm.exit-grace", "1000"));
    }

    static void stop(DroverRuntime runtime) throws Exception {
        if (runtime != null) {
            runtime.runs().cancelAll(Duration.ofSeconds(10));
            runtime.close();
        }
    }
}
