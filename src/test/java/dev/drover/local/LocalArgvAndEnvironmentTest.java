package dev.drover.local;

import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.HostileArgv;
import dev.drover.TestPipeline;
import dev.drover.plan.RunOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rule every strategy follows, on the local ones: argv byte-exact, drover's DROVER_* over the manifest's env. */
class LocalArgvAndEnvironmentTest {

    @TempDir
    Path tmp;

    TestPipeline pipeline;

    @BeforeEach
    void start() throws Exception {
        pipeline = new TestPipeline(tmp.resolve("runs"));
    }

    @AfterEach
    void stop() throws Exception {
        pipeline.close();
    }

    @Test
    void droverVariablesWinAndArgvArrivesByteExact() throws Exception {
        Path marker = tmp.resolve("marker");
        Path tool = HostileArgv.argvPrinter(tmp.resolve("tools/a=b/tool=1"));
        List<String> printer = new ArrayList<>(List.of(tool.toString()));
        printer.addAll(HostileArgv.everyKindOfArgument());
        String manifest = JsonMapper.builder().build().writeValueAsString(Map.of("name", "local-env", "retries", 1,
                "env", Map.of("DROVER_RUN_ID", "x", "DROVER_TASK_ID", "x", "DROVER_TASK_INDEX", "x",
                        "DROVER_ATTEMPT", "x", "MINE", "m"),
                "tasks", List.of(Map.of("id", "env", "command", List.of("sh", "-c",
                                "echo \"$DROVER_RUN_ID|$DROVER_TASK_ID|$DROVER_TASK_INDEX|$DROVER_ATTEMPT|$MINE\";"
                                        + " [ -e '" + marker + "' ] || { touch '" + marker + "'; exit 1; }")),
                        Map.of("id", "argv", "command", printer))));
        for (String strategy : List.of("multiprocessing", "sequential")) {
            Files.deleteIfExists(marker);
            var report = pipeline.run(manifest, new RunOptions(strategy, null, null));
            assertEquals("SUCCEEDED", report.get("state").asText(), report.toString());
            Path runDir = tmp.resolve("runs").resolve(report.get("runId").asText());
            String runId = report.get("runId").asText();
            String log = Files.readString(runDir.resolve("logs/env.log"));
            assertTrue(log.startsWith(runId + "|env|0|1|m\n") && log.endsWith(runId + "|env|0|2|m\n"), log);
            assertEquals(HostileArgv.everyKindOfArgument(), HostileArgv.printed(runDir.resolve("logs/argv.log")),
                    strategy);
        }
    }
}
