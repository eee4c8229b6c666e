package dev.drover.manifest;


import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Tasks spelled out one by one in the manifest, held compactly so that a million listed tasks cost about what their
 * arguments do: each task is a record of bytes (an id if it gives one, its argv, its own env and workdir) in 1 MiB
 * chunks, found by an int, and built into a {@link TaskSpec} only when asked for. Strings are UTF-8 after a varint
 * length, or a varint reference to a short table of strings that repeat (the program, fixed options): a string
 * seen twice while the table has room goes into it. A task's own resources cost it one short, an index into the few
 * distinct sets the list gives ({@code sets} is null when no task has resources of its own).
 */
final class TaskList implements TaskSource {

    private static final int CHUNK_BITS = 20;
    private static final int CHUNK = 1 << CHUNK_BITS;
    private static final int HAS_ID = 1;
    private static final int HAS_ENV = 2;
    private static final int HAS_WORKDIR = 4;

    private final byte[][] chunks;
    private final int[] starts;
    private final int size;
    private final String[] repeated;
    private final Map<String, String> env;
    private final String workdir;
    private final List<JobResources> resourceSets;
    private final short[] sets;

    private TaskList(Builder built, int size, Map<String, String> env, String workdir, List<JobResources> resourceSets,
                     short[] sets) {
        this.chunks = built.chunks.toArray(byte[][]::new);
        this.starts = built.starts;
        this.size = size;
        this.repeated = built.repeated.toArray(String[]::new);
        this.env = Map.copyOf(env);
        this.workdir = workdir;
        this.resourceSets = resourceSets;
        this.sets = sets;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public TaskSpec task(int index) {
        Cursor at = new Cursor(starts[index]);
        int flags = at.next();
        String id = (flags & HAS_ID) != 0 ? at.string() : TaskSource.paddedId(index, size);
        String[] command = new String[at.varint()];
        for (int i = 0; i < command.length; i++) {
            command[i] = at.string();
        }
        Map<String, String> taskEnv = env;
        if ((flags & HAS_ENV) != 0) {
            Map<String, String> merged = new LinkedHashMap<>(env);
            for (int n = at.varint(); n > 0; n--) {
                merged.put(at.string(), at.string());
            }
            taskEnv = Map.copyOf(merged);
        }
        return new TaskSpec(index, id, List.of(command), taskEnv, (flags & HAS_WORKDIR) != 0 ? at.string() : workdir);
    }

    @Override
    public String id(int index) {
        Cursor at = new Cursor(starts[index]);
        return (at.next() & HAS_ID) != 0 ? at.string() : TaskSource.paddedId(index, size);
    }

    @Override
    public List<JobResources> resourceSets() {
        return resourceSets;
    }

    @Override
    public int resourceSet(int index) {
        return sets == null || index >= sets.length ? 0 : sets[index];
    }

    /** Reads one task's record. */
    private final class Cursor {
        private int position;

        Cursor(int position) {
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

    /** Appends tasks' records as a list is read, in order. */
    static final class Builder {
        /** Strings at most this long may go into the table of repeated strings, which holds at most MAX_REPEATED. */
        private static final int REPEATED_LENGTH = 256;
        private static final int MAX_REPEATED = 4096;
        /** Strings seen once, waiting for a second sight; forgotten in bulk when this many are waiting. */
        private static final int MAX_SEEN = 1 << 14;

        private final List<byte[]> chunks = new ArrayList<>();
        private final List<String> repeated = new ArrayList<>();
        private final Map<String, Integer> repeatedIndex = new HashMap<>();
        private final Set<String> seenOnce = new HashSet<>();
        private int[] starts = new int[1024];
        private int size;
        private byte[] chunk;
        private long position;

        void add(String id, List<String> command, Map<String, String> env, String workdir) {
            if (size == starts.length) {
                starts = Arrays.copyOf(starts, size * 2);
            }
            if (position > Integer.MAX_VALUE - CHUNK) {
                throw new ManifestException("tasks", "hold more than 2 GB of arguments: split the manifest");
            }
            starts[size++] = (int) position;
            write((id != null ? HAS_ID : 0) | (env != null ? HAS_ENV : 0) | (workdir != null ? HAS_WORKDIR : 0));
            if (id != null) {
                string(id);
            }
            varint(command.size());
            command.forEach(this::string);
            if (env != null) {
                varint(env.size());
                env.forEach((name, value) -> {
                    string(name);
                    string(value);
                });
            }
            if (workdir != null) {
                string(workdir);
            }
        }

        int size() {
            return size;
        }

        /**
         * The list, its tasks' env and workdir laid over the manifest's (which may come after the list). Its size is
         * the whole list's, which default ids are padded to: more than were added when a problem stopped the adding.
         */
        TaskList build(int size, Map<String, String> env, String workdir, List<JobResources> resourceSets, short[] sets) {
            starts = Arrays.copyOf(starts, size);
            seenOnce.clear();
            return new TaskList(this, size, env, workdir, resourceSets, sets);
        }

        private void string(String value) {
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
            if (position + bytes.length > Integer.MAX_VALUE - CHUNK) {
                throw new ManifestException("tasks", "hold more than 2 GB of arguments: split the manifest");
            }
            varint(bytes.length << 1);
            for (byte b : bytes) {
                write(b);
            }
        }

        private void varint(int value) {
            while ((value & ~0x7f) != 0) {
                write((value & 0x7f) | 0x80);
                value >>>= 7;
            }
            write(value);
        }

        private void write(int b) {
            int offset = (int) (position & (CHUNK - 1));
            if (offset == 0) {
                chunk = new byte[CHUNK];
                chunks.add(chunk);
            }
            chunk[offset] = (byte) b;
            position++;
        }
    }
}
