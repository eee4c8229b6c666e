package dev.drover.kubernetes;

import dev.drover.manifest.ManifestReader;
import dev.drover.manifest.TaskSource;
import dev.drover.manifest.TaskSpec;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConsecutiveTasksTest {

    private static final TaskSource RANGE = ManifestReader.parse("""
            name: slice
            command: [echo, '{item}']
            range: {start: 100, end: 110}
            """).tasks();

    @Test
    void isTheSourcesTasksAtItsPositionsAsAnUnmodifiableList() {
        ConsecutiveTasks slice = new ConsecutiveTasks(RANGE, 3, 5);
        assertEquals(List.of(RANGE.task(3), RANGE.task(4), RANGE.task(5), RANGE.task(6), RANGE.task(7)), slice);
        ConsecutiveTasks inner = assertInstanceOf(ConsecutiveTasks.class, slice.subList(1, 3),
                "a Job cut in halves stays a slice");
        assertEquals(List.of(RANGE.task(4), RANGE.task(5)), inner);
        assertTrue(inner.of(RANGE));
        assertFalse(inner.of(new Listed(RANGE)));
        assertThrows(UnsupportedOperationException.class, () -> slice.add(RANGE.task(0)));
        assertThrows(IndexOutOfBoundsException.class, () -> slice.get(5));
        assertThrows(IndexOutOfBoundsException.class, () -> slice.subList(2, 6));
        assertThrows(IndexOutOfBoundsException.class, () -> new ConsecutiveTasks(RANGE, 8, 3));
    }

    /** Another source of the same tasks. */
    private record Listed(TaskSource tasks) implements TaskSource {
        @Override
        public int size() {
            return tasks.size();
        }

        @Override
        public TaskSpec task(int index) {
            return tasks.task(index);
        }
    }
}
