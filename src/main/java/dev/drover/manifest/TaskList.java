package dev.drover.manifest;

import java.util.List;

/** Tasks spelled out one by one in the manifest. */
record TaskList(List<TaskSpec> specs) implements TaskSource {

    @Override
    public int size() {
        return specs.size();
    }

    @Override
    public TaskSpec task(int index) {
        return specs.get(index);
    }
}
