package dev.drover.manifest;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Bytes written once and read back from an int position, in 1 MiB chunks: the compact store of a manifest's listed
 * tasks and generator items, so that a million of them cost about their bytes. Strings are UTF-8 after a varint
 * length, or a varint reference to a short table of strings that repeat (the program, fixed options): a string seen
 * twice while the table has room goes into it.
 */
final class PackedBytes {

    private static final int CHUNK_BITS = 20;
    private static final int CHUNK = 1 << CHUNK_BITS;

    private final byte[][] chunks;
    private final String[] repeated;

    private PackedBytes(Writer written) {
        this.chunks = written.chunks.toArray(byte[][]::new);
        this.repeated = written.repeated.toArray(String[]::new);
    }

    /** A reader of what was written from position on. */
    Cursor at(int position) {
        return new Cursor(position);
    }

    /** Reads values in the order they were written. */
    final class Cursor {
        private int position;

        private Cursor(int position) {
            this.position = position;
        }

        int next() {
            int b = chunks[position >>> CHUNK_BITS][position & (CHUNK - 1)] & 0xff;
            position++;
            return b;
        }

        int varint() {
            int value = 0;
            for (int shift = 0; ; shift += 7) {
                int b = next();
                value |= (b & 0x7f) << shift;
                if (b < 0x80) {
                    return value;
                }
            }
        }

        String string() {
            int head = varint();
            if ((head & 1) != 0) {
                return repeated[head >>> 1];
            }
            int length = head >>> 1;
            int offset = position & (CHUNK - 1);
            byte[] chunk = chunks[position >>> CHUNK_BITS];
            if (offset + length <= CHUNK) {
                position += length;
                return new String(chunk, offset, length, StandardCharsets.UTF_8);
            }
            byte[] bytes = new byte[length];
            for (int i = 0; i < length; i++) {
                bytes[i] = (byte) next();
            }
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    /** Appends values; positions are ints, so at most about 2 GB is written. */
    static final class Writer {
        /** Strings at most this long may go into the table of repeated strings, which holds at most MAX_REPEATED. */
        private static final int REPEATED_LENGTH = 256;
        private static final int MAX_REPEATED = 4096;
        /** Strings seen once, waiting for a second sight; forgotten in bulk when this many are waiting. */
        private static final int MAX_SEEN = 1 << 14;

        /** The manifest field whose values these are, named when they are too many bytes. */
        private final String field;
        private final List<byte[]> chunks = new ArrayList<>();
        private final List<String> repeated = new ArrayList<>();
        private final Map<String, Integer> repeatedIndex = new HashMap<>();
        private final Set<String> seenOnce = new HashSet<>();
        private byte[] chunk;
        private long position;

        Writer(String field) {
            this.field = field;
        }

        /** Where the next value will be written. */
        int position() {
            checkRoom(0);
            return (int) position;
        }

        PackedBytes build() {
            seenOnce.clear();
            return new PackedBytes(this);
        }

        void string(String value) {
            Integer known = repeatedIndex.get(value);
            if (known == null && value.length() <= REPEATED_LENGTH && repeated.size() < MAX_REPEATED
                    && !seenOnce.add(value)) {
                known = repeated.size();
                repeated.add(value);
                repeatedIndex.put(value, known);
                seenOnce.remove(value);
            } else if (seenOnce.size() >= MAX_SEEN) {
                seenOnce.clear();
            }
            if (known != null) {
                varint(known << 1 | 1);
                return;
            }
            byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
            checkRoom(bytes.length);
            varint(bytes.length << 1);
            for (byte b : bytes) {
                write(b);
            }
        }

        void varint(int value) {
            while ((value & ~0x7f) != 0) {
                write((value & 0x7f) | 0x80);
                value >>>= 7;
            }
            write(value);
        }

        void write(int b) {
            int offset = (int) (position & (CHUNK - 1));
            if (offset == 0) {
                chunk = new byte[CHUNK];
                chunks.add(chunk);
            }
            chunk[offset] = (byte) b;
            position++;
        }

        private void checkRoom(int bytes) {
            if (position + bytes > Integer.MAX_VALUE - CHUNK) {
                throw new ManifestException(field, "hold more than 2 GB of arguments: split the manifest");
            }
        }
    }
}
