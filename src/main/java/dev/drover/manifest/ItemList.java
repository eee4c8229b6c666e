package dev.drover.manifest;

import java.util.AbstractList;
import java.util.Arrays;
import java.util.Objects;
import java.util.RandomAccess;

/**
 * A generator's {@code items:}, held compactly: each item's UTF-8 bytes in {@link PackedBytes}, found by an int, so
 * that a million items cost about their bytes plus a few per item instead of a String each. An item becomes a String
 * only when asked for.
 */
final class ItemList extends AbstractList<String> implements RandomAccess {

    private final PackedBytes items;
    private final int[] starts;

    private ItemList(PackedBytes items, int[] starts) {
        this.items = items;
        this.starts = starts;
    }

    @Override
    public String get(int index) {
        return items.at(starts[Objects.checkIndex(index, starts.length)]).string();
    }

    @Override
    public int size() {
        return starts.length;
    }

    /** Appends items as the list is read, in order. */
    static final class Builder {
        private final PackedBytes.Writer items = new PackedBytes.Writer("items");
        private int[] starts = new int[1024];
        private int size;

        void add(String item) {
            if (size == starts.length) {
                starts = Arrays.copyOf(starts, size * 2);
            }
            starts[size++] = items.position();
            items.string(item);
        }

        ItemList build() {
            return new ItemList(items.build(), Arrays.copyOf(starts, size));
        }
    }
}
