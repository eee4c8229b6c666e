package dev.drover;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drover.camel.DroverRuntime;
import dev.drover.plan.RunOptions;
import dev.drover.run.Run;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A {@link TestPipeline} for a test class, with its own runs directory, started and stopped by JUnit:
 * {@code @RegisterExtension static final PipelineExtension pipeline = new PipelineExtension();} gives one pipeline to
 * all the tests of the class (starting drover once is most of a local test's time); as an instance field, each test
 * gets its own.
 */
public final class PipelineExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback,
        AfterEachCallback {

    private final Map<String, String> properties;
    private boolean perClass;
    private Path runsDir;
    private TestPipeline pipeline;

    public PipelineExtension() {
        this(Map.of());
    }

    /** @param properties settings over config/application.properties, e.g. an intake's */
    public PipelineExtension(Map<String, String> properties) {
        this.properties = properties;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        perClass = true;
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        stop();
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        if (!perClass) {
            start();
        }
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        if (!perClass) {
            stop();
        }
    }

    private void start() throws Exception {
        runsDir = Files.createTempDirectory("drover-test-runs");
        pipeline = new TestPipeline(runsDir, properties);
    }

    private void stop() throws Exception {
        try {
            pipeline.close();
        } finally {
            try (Stream<Path> all = Files.walk(runsDir)) {
                for (Path path : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(path);
                }
            } catch (IOException e) {
                System.err.println("cannot delete the test runs directory " + runsDir + ": " + e);
            }
        }
    }

    public Path runsDir() {
        return runsDir;
    }

    public DroverRuntime runtime() {
        return pipeline.runtime();
    }

    /** {@link TestPipeline#run} */
    public JsonNode run(String manifest, RunOptions options) throws Exception {
        return pipeline.run(manifest, options);
    }

    /** {@link TestPipeline#start} */
    public Run start(String manifest, RunOptions options) {
        return pipeline.start(manifest, options);
    }
}
