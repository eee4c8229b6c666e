package dev.drover.camel;

import dev.drover.run.TaskBatch;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.spi.Resource;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertThrows;

/** routes/dispatch.camel.yaml, loaded as is, with the lanes replaced by mocks. */
class DispatchRouteTest extends CamelTestSupport {

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() throws Exception {
                Resource dispatch = ResourceHelper.resolveMandatoryResource(getContext(), "file:routes/dispatch.camel.yaml");
                PluginHelper.getRoutesLoader(getContext()).loadRoutes(dispatch);
                from("seda:lane-multiprocessing-1").to("mock:multiprocessing");
                from("direct:lane-sequential").to("mock:sequential");
                from("direct:lane-slurm").to("mock:slurm");
                from("direct:lane-kubernetes").to("mock:kubernetes");
            }
        };
    }

    private void dispatch(String strategy) {
        template.sendBodyAndHeaders("direct:dispatch", new TaskBatch("run-1", List.of()),
                Map.of("DroverStrategy", strategy, "DroverRunId", "run-1", "DroverLane", "lane-multiprocessing-1"));
    }

    @Test
    void eachStrategyReachesItsLane() throws Exception {
        MockEndpoint multiprocessing = getMockEndpoint("mock:multiprocessing");
        MockEndpoint sequential = getMockEndpoint("mock:sequential");
        MockEndpoint slurm = getMockEndpoint("mock:slurm");
        MockEndpoint kubernetes = getMockEndpoint("mock:kubernetes");
        multiprocessing.expectedMessageCount(1);
        sequential.expectedMessageCount(1);
        slurm.expectedMessageCount(2);
        kubernetes.expectedMessageCount(1);
        dispatch("multiprocessing");
        dispatch("sequential");
        dispatch("slurm");
        dispatch("slurm+batching");
        dispatch("kubernetes");
        MockEndpoint.assertIsSatisfied(context);
    }

    @Test
    void anUnknownStrategyIsAnErrorNotASilentFallback() {
        assertThrows(Exception.class, () -> dispatch("lsf"));
    }
}
