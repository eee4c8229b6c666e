package dev.drover.run;

import dev.drover.manifest.TaskSpec;
import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;

import java.util.ArrayList;
import java.util.List;

/** Aggregation strategy of the batch stage: collects the split tasks of one run into a {@link TaskBatch}. */
public final class TaskBatcher implements AggregationStrategy {

    public static final String RUN_ID_HEADER = "DroverRunId";

    @Override
    public Exchange aggregate(Exchange batch, Exchange task) {
        TaskSpec spec = task.getMessage().getBody(TaskSpec.class);
        if (batch == null) {
            List<TaskSpec> tasks = new ArrayList<>();
            tasks.add(spec);
            task.getMessage().setBody(new TaskBatch(task.getMessage().getHeader(RUN_ID_HEADER, String.class), tasks));
            return task;
        }
        batch.getMessage().getBody(TaskBatch.class).tasks().add(spec);
        return batch;
    }
}
