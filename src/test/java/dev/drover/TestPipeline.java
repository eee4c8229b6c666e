package dev.drover;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.camel.DroverRuntime;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.RunReport;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real pipeline for tests: drover's runtime with the project's own routes/ and config/, runs in a temporary
 * directory.
 */
public final class TestPipeline implements AutoCloseable {

    /** Maven runs tests in the project folder, which holds routes/ and config/. */
    public static final Path HOME = Path.of("").toAbsolutePath();

    private final DroverRuntime runtime;

    public TestPipeline(Path runsDir) throws Exception {
        this(runsDir, Map.of());
    }

    public TestPipeline(Path runsDir, Map<String, String> properties) throws Exception {
        Map<String, String> overrides = new HashMap<>(properties);
        overrides.put("drover.runs-dir", runsDir.toString());
        runtime = DroverRuntime.start(HOME, overrides);
    }

    public DroverRuntime runtime() {
        return runtime;
    }

    /** Runs a manifest to the end and returns its report.json. */
    public JsonNode run(String manifest, RunOptions options) throws Exception {
        Run run = start(manifest, options);
        run.finished().get(120, TimeUnit.SECONDS);
        return report(run.dir());
    }

    /** Submits a manifest; the run goes on in the pipeline's threads (sequential runs feed from this thread). */
    public Run start(String manifest, RunOptions options) {
        RunPlan plan = RunPlan.resolve(ManifestReader.parse(manifest), options);
        return submit(runtime, plan);
    }

    /** Records a manifest (text) or plan on {@code runtime}, then feeds it, as drover run does; returns once it is fed. */
    public static Run submit(DroverRuntime runtime, Object manifestOrPlan) {
        return runtime.feed(runtime.record(manifestOrPlan)).join();
    }

    public static JsonNode report(Path runDir) throws Exception {
        return JsonMapper.builder().build().readTree(runDir.resolve(RunReport.FILE).toFile());
    }

    @Override
    public void close() throws Exception {
        runtime.close();
    }
}
