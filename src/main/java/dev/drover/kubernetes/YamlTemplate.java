package dev.drover.kubernetes;

import java.io.IOException;
import java.io.Writer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.ToIntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The YAML that fabric8 wrote once for an object with placeholders where objects of its kind differ, to be filled in
 * with each object's values: a dry run's thousand Jobs and ConfigMaps without serialising each ({@link JobYaml},
 * {@link ConfigMapYaml}).
 */
final class YamlTemplate {

    private static final SecureRandom RANDOM = new SecureRandom();

    /** The text between the placeholders: {@code text.get(i)} comes before {@code slots.get(i)}, the last after all. */
    private final List<String> text = new ArrayList<>();
    private final List<Integer> slots = new ArrayList<>();

    /**
     * @param yaml        the serialised object
     * @param placeholder matches each placeholder (and nothing else, which random placeholders make sure of)
     * @param slot        the slot a matched placeholder stands for, the argument of {@link #write}'s values
     */
    YamlTemplate(String yaml, Pattern placeholder, ToIntFunction<String> slot) {
        Matcher m = placeholder.matcher(yaml);
        int end = 0;
        while (m.find()) {
            text.add(yaml.substring(end, m.start()));
            slots.add(slot.applyAsInt(m.group()));
            end = m.end();
        }
        text.add(yaml.substring(end));
    }

    /** The slots the text has a place for, each as often as it does. */
    List<Integer> slots() {
        return slots;
    }

    void write(Writer out, IntFunction<String> values) throws IOException {
        for (int i = 0; i < slots.size(); i++) {
            out.write(text.get(i));
            out.write(values.apply(slots.get(i)));
        }
        out.write(text.get(text.size() - 1));
    }

    /** {@code length} random lower-case letters: a placeholder no object's own text will hold. */
    static String randomLetters(int length) {
        StringBuilder s = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            s.append((char) ('a' + RANDOM.nextInt(26)));
        }
        return s.toString();
    }
}
