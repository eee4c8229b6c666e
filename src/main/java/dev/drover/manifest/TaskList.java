package dev.drover.manifest;


import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tasks spelled out one by one in the manifest, held compactly so that a million listed tasks cost about what their
 * arguments do: each task is a record of {@link PackedBytes} (an id if it gives one, its argv, its own env and
 * workdir), found by an int, and built into a {@link TaskSpec} only when asked for. A task's own resources cost it
 * one short, an index into the few distinct sets the list gives ({@code sets} is null when no task has resources of
 * its own).
 */
final class TaskList implements TaskSource {

    private static final int HAS_ID = 1;
    private static final int HAS_ENV = 2;
    private static final int HAS_WORKDIR = 4;

    private final PackedBytes records;
    private final int[] starts;
    private final int size;
    private final Map<String, String> env;
    private final String workdir;
    private final List<JobResources> resourceSets;
    private final short[] sets;

    private TaskList(Builder built, int size, Map<String, String> env, String workdir, List<JobResources> resourceSets,
                     short[] sets) {
        this.records = built.records.build();
        this.starts = built.starts;
        this.size = size;
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
        PackedBytes.Cursor at = records.at(starts[index]);
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
        PackedBytes.Cursor at = records.at(starts[index]);
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

    /** Appends tasks' records as a list is read, in order. */
    static final class Builder {
        private final PackedBytes.Writer records = new PackedBytes.Writer("tasks");
        private int[] starts = new int[1024];
        private int size;

        void add(String id, List<String> command, Map<String, String> env, String workdir) {
            if (size == starts.length) {
                starts = Arrays.copyOf(starts, size * 2);
            }
            starts[size++] = records.position();
            records.write((id != null ? HAS_ID : 0) | (env != null ? HAS_ENV : 0) | (workdir != null ? HAS_WORKDIR : 0));
            if (id != null) {
                records.string(id);
            }
            records.varint(command.size());
            command.forEach(records::string);
            if (env != null) {
                records.varint(env.size());
                env.forEach((name, value) -> {
                    records.string(name);
                    records.string(value);
                });
            }
            if (workdir != null) {
                records.string(workdir);
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
            return new TaskList(this, size, env, workdir, resourceSets, sets);
        }
    }
}
