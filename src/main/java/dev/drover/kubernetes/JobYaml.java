package dev.drover.kubernetes;

import dev.drover.manifest.TaskSpec;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.Serialization;

import java.io.IOException;
import java.io.Writer;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The YAML of the Jobs that one {@link IndexedJobBuilder} builds, as {@code Serialization.asYaml} writes them, for a
 * dry run of a thousand Jobs. Such Jobs differ only in the values of {@link Slot} ({@link IndexedJobBuilder#build}),
 * so fabric8 serialises one Job that has a random placeholder for each, and every Job's YAML is that text with its
 * own values: the same bytes (each value is a scalar written as it is: digits, or a double-quoted string of
 * {@code [a-z0-9-]} that is never folded), at a small fraction of the cost. JobYamlTest holds it to fabric8's.
 */
final class JobYaml {

    /** What differs between the Jobs of one builder, read from each Job. */
    private enum Slot {
        NAME(KubeJob::name),
        TOKEN(job -> job.annotations().get(IndexedJobBuilder.ANNOTATION_TOKEN)),
        TASK_INDEXES(job -> job.annotations().get(IndexedJobBuilder.ANNOTATION_TASKS)),
        COMPLETIONS(job -> job.spec().getCompletions().toString()),
        PARALLELISM(job -> job.spec().getParallelism().toString());

        final Function<KubeJob, String> value;

        Slot(Function<KubeJob, String> value) {
            this.value = value;
        }
    }

    private static final Slot[] SLOTS = Slot.values();

    private final YamlTemplate template;

    /** The template of the builder's Jobs, from one built (as a dry run builds it) for {@code tasks}. */
    JobYaml(IndexedJobBuilder builder, List<TaskSpec> tasks) {
        String random = YamlTemplate.randomLetters(16);
        int number = ThreadLocalRandom.current().nextInt(100_000_000, 900_000_000); // 9 digits: no other number's
        List<String> placeholders = List.of(random + "name", random + "token", random + "tasks",
                Integer.toString(number), Integer.toString(number + 1));
        KubeJob prototype = builder.build(placeholders.get(Slot.NAME.ordinal()), tasks);
        Job job = prototype.job();
        job.getMetadata().getAnnotations().put(IndexedJobBuilder.ANNOTATION_TOKEN,
                placeholders.get(Slot.TOKEN.ordinal()));
        job.getMetadata().getAnnotations().put(IndexedJobBuilder.ANNOTATION_TASKS,
                placeholders.get(Slot.TASK_INDEXES.ordinal()));
        job.getSpec().setCompletions(number);
        job.getSpec().setParallelism(number + 1);
        Pattern placeholder = Pattern.compile("(?<![0-9a-z])(" + random + "[a-z]+|" + number + "|" + (number + 1)
                + ")(?![0-9a-z])");
        template = new YamlTemplate(Serialization.asYaml(job), placeholder, placeholders::indexOf);
        if (template.slots().contains(-1) || template.slots().stream().distinct().count() != SLOTS.length) {
            throw new IllegalStateException("the Job's YAML does not show each of " + List.of(SLOTS)
                    + ": IndexedJobBuilder changed where its Jobs differ");
        }
    }

    /** Writes the YAML of a Job of the builder, as {@code Serialization.asYaml(job.job())} does. */
    void write(KubeJob job, Writer out) throws IOException {
        template.write(out, slot -> SLOTS[slot].value.apply(job));
    }
}
