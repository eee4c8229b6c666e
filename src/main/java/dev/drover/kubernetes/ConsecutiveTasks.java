package dev.drover.kubernetes;

import dev.drover.manifest.TaskSource;
import dev.drover.manifest.TaskSpec;

import java.util.AbstractList;
import java.util.RandomAccess;

/**
 * Positions {@code from .. from + size - 1} of a task source as an unmodifiable list whose tasks are built only when
 * read: a dry run's Job of a range generator reads two of its thousand (its pods rebuild the others from the
 * template, see {@link PodTasks}), so a million-task dry run does not build a million tasks.
 */
final class ConsecutiveTasks extends AbstractList<TaskSpec> implements RandomAccess {

    private final TaskSource source;
    private final int from;
    private final int size;

    ConsecutiveTasks(TaskSource source, int from, int size) {
        if (from < 0 || size < 0 || from + size > source.size()) {
            throw new IndexOutOfBoundsException("tasks " + from + " + " + size + " of " + source.size());
        }
        this.source = source;
        this.from = from;
        this.size = size;
    }

    /** Whether these are tasks of that source (whose task at a position may have another index: a group's). */
    boolean of(TaskSource tasks) {
        return source == tasks;
    }

    @Override
    public TaskSpec get(int index) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException(index);
        }
        return source.task(from + index);
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public ConsecutiveTasks subList(int fromIndex, int toIndex) {
        if (fromIndex < 0 || toIndex > size || fromIndex > toIndex) {
            throw new IndexOutOfBoundsException(fromIndex + ".." + toIndex + " of " + size);
        }
        return new ConsecutiveTasks(source, from + fromIndex, toIndex - fromIndex);
    }
}
