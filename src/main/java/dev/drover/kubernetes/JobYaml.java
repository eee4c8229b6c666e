package dev.drover.kubernetes;

import dev.drover.manifest.TaskSpec;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.Serialization;

import java.io.IOException;
import java.io.Writer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The YAML of the Jobs that one {@link IndexedJobBuilder} builds, as {@code Serialization.asYaml} writes them, for a
 * dry run of a thousand Jobs. Such Jobs differ only in the values of {@link Slot} ({@link IndexedJobBuilder#build}),
 * so fabric8 serialises one Job that has a random placeholder for each, and every Job's YAML is that text with its
 * own values: the same bytes (each value is a scalar written as it is: digits, or a double-quoted string of
 * {@code [a-z0-9-]}), at a small fraction of the cost. KubernetesDryRunTest holds it to fabric8's serialisation.
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

    private static final SecureRandom RANDOM = new SecureRandom();

    /** The text between the slots: {@code text.get(i)} comes before {@code slots.get(i)}, the last after all. */
    private final List<String> text = new ArrayList<>();
    private final List<Slot> slots = new ArrayList<>();

    /** The template of the builder's Jobs, from one built (as a dry run builds it) for {@code tasks}. */
    JobYaml(IndexedJobBuilder builder, List<TaskSpec> tasks) {
        String random = HexFormat.of().formatHex(RANDOM.generateSeed(8));
        int number = 100_000_000 + RANDOM.nextInt(800_000_000); // 9 digits, surrounded by no others below
        String[] placeholders = {"x" + random + "name", "x" + random + "token", "x" + random + "tasks",
                Integer.toString(number), Integer.toString(number + 1)};
        KubeJob prototype = builder.build(placeholders[Slot.NAME.ordinal()], tasks);
        Job job = prototype.job();
        job.getMetadata().getAnnotations().put(IndexedJobBuilder.ANNOTATION_TOKEN, placeholders[Slot.TOKEN.ordinal()]);
        job.getMetadata().getAnnotations().put(IndexedJobBuilder.ANNOTATION_TASKS,
                placeholders[Slot.TASK_INDEXES.ordinal()]);
        job.getSpec().setCompletions(number);
        job.getSpec().setParallelism(number + 1);
        String yaml = Serialization.asYaml(job);
        StringBuilder alternatives = new StringBuilder();
        for (String placeholder : placeholders) {
            alternatives.append(alternatives.isEmpty() ? "" : "|").append(Pattern.quote(placeholder));
        }
        Matcher m = Pattern.compile("(?<![0-9a-z])(" + alternatives + ")(?![0-9a-z])").matcher(yaml);
        int end = 0;
        while (m.find()) {
            text.add(yaml.substring(end, m.start()));
            slots.add(Slot.values()[List.of(placeholders).indexOf(m.group(1))]);
            end = m.end();
        }
        text.add(yaml.substring(end));
        for (Slot slot : Slot.values()) {
            if (!slots.contains(slot)) {
                throw new IllegalStateException("the Job's YAML has no place for its " + slot
                        + ": IndexedJobBuilder changed where the Jobs differ");
            }
        }
    }

    /** Writes the YAML of a Job of the builder, as {@code Serialization.asYaml(job.job())} does. */
    void write(KubeJob job, Writer out) throws IOException {
        for (int i = 0; i < slots.size(); i++) {
            out.write(text.get(i));
            out.write(slots.get(i).value.apply(job));
        }
        out.write(text.get(text.size() - 1));
    }
}
