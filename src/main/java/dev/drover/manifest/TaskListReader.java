package dev.drover.manifest;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a manifest's {@code tasks:} list as it streams into a compact {@link TaskList}: a million listed tasks never
 * exist as a million trees or task objects. Errors come as for a manifest read whole: the size of the list, then each
 * task in order, its id's uniqueness before its other fields.
 */
final class TaskListReader extends StreamedList {

    private static final Set<String> TASK_FIELDS = Set.of("id", "command", "env", "workdir", "jobResources");

    private final TaskList.Builder records = new TaskList.Builder();
    private final TaskResourceSets resources = new TaskResourceSets();
    /** The last task's own id (null: none, or not read yet); the task with the problem's when there is one. */
    private String lastId;
    /** Whether the last task's id was read (or found missing) before its problem, if it has one. */
    private boolean lastIdRead;
    private boolean ownIds;

    @Override
    void add(JsonNode task, int index) {
        String field = "tasks[" + index + "]";
        lastId = null;
        lastIdRead = false;
        if (!task.isObject()) {
            throw new ManifestException(field, "must be an object with 'command' (an argv list), e.g. {command: [echo, hi]}");
        }
        ManifestReader.rejectUnknownFields(task, TASK_FIELDS, field + ".");
        if (task.has("id")) {
            lastId = ManifestReader.scalarText(task.get("id"), field + ".id");
            ManifestReader.checkTaskId(lastId, field + ".id");
            ownIds = true;
        }
        lastIdRead = true;
        if (!task.has("command")) {
            throw new ManifestException(field + ".command", "missing: give the argv list to run, e.g. [echo, hi]"
                    + " (use [sh, -c, '...'] for a shell command)");
        }
        List<String> command = ManifestReader.argv(task.get("command"), field + ".command");
        Map<String, String> env = task.has("env") ? ManifestReader.stringMap(task.get("env"), field + ".env") : null;
        String workdir = task.has("workdir") ? ManifestReader.requiredText(task, "workdir", field + ".workdir") : null;
        String resourcesField = field + ".jobResources";
        JobResources own = JobResources.parseTask(ManifestReader.jobResources(task.get("jobResources"),
                resourcesField), resourcesField);
        resources.add(index, own, resourcesField);
        records.add(lastId, command, env, workdir);
    }

    /** The tasks, each with the manifest's env under its own and the manifest's workdir unless it gives one. */
    TaskSource finish(Map<String, String> env, String workdir) {
        if (count() == 0) {
            throw new ManifestException("tasks", "is empty: a manifest needs at least one task");
        }
        ManifestReader.checkSize(count(), "tasks");
        TaskList list = records.build(count(), env, workdir, resources.distinct(), resources.sets());
        if (ownIds) {
            checkUniqueIds(list);
        }
        if (problem() != null) {
            throw problem();
        }
        return list;
    }

    /**
     * Refuses the first task whose id an earlier one has (default ids, the padded index, depend on the size of the
     * whole list: known only now): an open-addressing table of task indexes, comparing ids as they are rebuilt.
     */
    private void checkUniqueIds(TaskList list) {
        int read = records.size();
        int[] table = new int[Integer.highestOneBit(Math.max(read, 1) * 2 + 1) * 2];
        Arrays.fill(table, -1);
        for (int i = 0; i < read; i++) {
            checkUnique(list, table, list.id(i), i, i);
        }
        if (problem() != null && lastIdRead) {
            String id = lastId != null ? lastId : TaskSource.paddedId(read, count());
            checkUnique(list, table, id, read, -1);
        }
    }

    private static void checkUnique(TaskList list, int[] table, String id, int task, int store) {
        int mask = table.length - 1;
        for (int slot = spread(id.hashCode()) & mask; ; slot = (slot + 1) & mask) {
            if (table[slot] < 0) {
                if (store >= 0) {
                    table[slot] = store;
                }
                return;
            }
            if (list.id(table[slot]).equals(id)) {
                throw new ManifestException("tasks[" + task + "].id", "'" + id + "' is used by another task: task"
                        + " ids must be unique");
            }
        }
    }

    private static int spread(int hash) {
        return hash ^ (hash >>> 16);
    }
}
