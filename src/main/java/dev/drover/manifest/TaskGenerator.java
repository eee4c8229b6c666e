package dev.drover.manifest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Tasks generated from a command template: {@code {item}} is replaced by the item (from {@code items}, or the range
 * value) and {@code {index}} by the task's index. Tasks are built on demand.
 */
public record TaskGenerator(List<String> template, List<String> items, long start, long step, int size,
                     Map<String, String> env, String workdir) implements TaskSource {

    @Override
    public TaskSpec task(int index) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException(index);
        }
        String item = items != null ? items.get(index) : Long.toString(start + step * index);
        String indexText = Integer.toString(index);
        List<String> argv = new ArrayList<>(template.size());
        for (String arg : template) {
            argv.add(arg.indexOf('{') < 0 ? arg : arg.replace("{item}", item).replace("{index}", indexText));
        }
        return new TaskSpec(index, id(index), argv, env, workdir);
    }

    @Override
    public String id(int index) {
        return TaskSource.paddedId(index, size);
    }
}
