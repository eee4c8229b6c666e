package dev.drover.manifest;


import java.util.List;

/**
 * Tasks spelled out one by one in the manifest. A task's own resources cost it one short, an index into the few
 * distinct sets the list gives ({@code sets} is null when no task has resources of its own).
 */
final class TaskList implements TaskSource {

    private final List<TaskSpec> specs;
    private final List<JobResources> resourceSets;
    private final short[] sets;

    TaskList(List<TaskSpec> specs, List<JobResources> resourceSets, short[] sets) {
        this.specs = specs;
        this.resourceSets = resourceSets;
        this.sets = sets;
    }

    @Override
    public int size() {
        return specs.size();
    }

    @Override
    public TaskSpec task(int index) {
        return specs.get(index);
    }

    @Override
    public List<JobResources> resourceSets() {
        return resourceSets;
    }

    @Override
    public int resourceSet(int index) {
        return sets == null ? 0 : sets[index];
    }
}
