package dev.drover.camel;

import dev.drover.plan.Strategy;
import dev.drover.run.TaskBatch;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.spi.Resource;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** routes/dispatch.camel.yaml, loaded as is, with the lanes replaced by mocks; and the lanes each strategy names. */
class DispatchRouteTest extends CamelTestSupport {

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() throws Exception {
                Resource dispatch = ResourceHelper.resolveMandatoryResource(getContext(), "file:routes/dispatch.camel.yaml");
                PluginHelper.getRoutesLoader(getContext()).loadRoutes(dispatch);
                from("seda:lane-multiprocessing-1").to("mock:multiprocessing");
                from(Strategy.SEQUENTIAL.lane()).to("mock:sequential");
                from(Strategy.SLURM.lane()).to("mock:slurm");
                from(Strategy.KUBERNETES.lane()).to("mock:kubernetes");
            }
        };
    }

    private void dispatch(String lane) {
        template.sendBodyAndHeaders("direct:dispatch", new TaskBatch("run-1", List.of()),
                Map.of("DroverRunId", "run-1", "DroverLaneEndpoint", lane));
    }

    @Test
    void eachBatchReachesTheLaneItsRunWasGiven() throws Exception {
        MockEndpoint multiprocessing = getMockEndpoint("mock:multiprocessing");
        MockEndpoint sequential = getMockEndpoint("mock:sequential");
        MockEndpoint slurm = getMockEndpoint("mock:slurm");
        MockEndpoint kubernetes = getMockEndpoint("mock:kubernetes");
        multiprocessing.expectedMessageCount(1);
        sequential.expectedMessageCount(1);
        slurm.expectedMessageCount(2);
        kubernetes.expectedMessageCount(1);
        // what feed-run gives a multiprocessing run, and what the other strategies name
        dispatch("seda:lane-multiprocessing-1?blockWhenFull=true&waitForTaskToComplete=Never");
        dispatch(Strategy.SEQUENTIAL.lane());
        dispatch(Strategy.SLURM.lane());
        dispatch(Strategy.SLURM_BATCHING.lane());
        dispatch(Strategy.KUBERNETES.lane());
        MockEndpoint.assertIsSatisfied(context);
    }

    @Test
    void aBatchWithoutALaneIsAnErrorNotASilentFallback() {
        assertThrows(Exception.class, () -> template.sendBodyAndHeaders("direct:dispatch",
                new TaskBatch("run-1", List.of()), Map.of("DroverRunId", "run-1")));
    }

    /** A strategy whose lane no route file consumes would fail every run at its first batch. */
    @Test
    void everyStrategysLaneIsARouteOfTheInstallation() throws IOException {
        Set<String> consumed = new HashSet<>();
        Pattern from = Pattern.compile("from:\\s*\\n\\s*uri:\\s*\"([^\"]+)\"");
        try (Stream<Path> files = Files.list(Path.of("routes"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".camel.yaml")).toList()) {
                Matcher m = from.matcher(Files.readString(file));
                while (m.find()) {
                    consumed.add(m.group(1));
                }
            }
        }
        assertFalse(consumed.isEmpty(), "no route found: the pattern no longer matches the route files");
        for (Strategy strategy : Strategy.values()) {
            if (strategy.isLaneOfItsOwn()) {
                assertTrue(consumed.contains("seda:{{lane}}"), "the lane-multiprocessing template is gone");
            } else {
                assertTrue(consumed.contains(strategy.lane()), strategy + ": no route consumes " + strategy.lane());
            }
        }
    }
}
