package dev.drover.local;

import dev.drover.HostileArgv;
import dev.drover.PipelineExtension;
import dev.drover.plan.RunOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The rule every strategy follows, on the local ones: argv byte-exact, drover's DROVER_* over the manifest's env. */
class LocalArgvAndEnvironmentTest {

    @TempDir
    Path tmp;

    @RegisterExtension
    final PipelineExtension pipeline = new PipelineExtension();

    @Test
    void droverVariablesWinAndArgvArrivesByteExact() throws Exception {
        for (String strategy : List.of("multiprocessing", "sequential")) {
            String manifest = HostileArgv.envAndArgvManifest(Map.of("name", "local-env"), tmp);
            var report = pipeline.run(manifest, new RunOptions(strategy, null, null));
            assertEquals("SUCCEEDED", report.get("state").asText(), report.toString());
            String runId = report.get("runId").asText();
            HostileArgv.assertEnvAndArgv(pipeline.runsDir().resolve(runId), runId);
        }
    }
}
