package dev.drover.kubernetes;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;

import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The YAML of a dry run's ConfigMaps, as {@code Serialization.asYaml} writes them. A range generator's Jobs have
 * ConfigMaps that differ only in their name and in the numbers of their task script (the Job's first task, its size),
 * so the first is serialised with a random placeholder for its name and for each run of digits in its data, and each
 * ConfigMap of the same shape is that text with its own name and numbers. This is exact because the data is then
 * written as a literal block ({@code |}), which holds each line as it is: YAML chooses that style, and its chomping
 * and indentation hints, from where spaces, line breaks and special characters are, never from letters or digits.
 * Data that might be written otherwise (a double-quoted string is folded by length), and every other ConfigMap (a
 * list's task table), is serialised as it is. JobYamlTest holds it to fabric8's serialisation.
 */
final class ConfigMapYaml {

    private static final Pattern DIGITS = Pattern.compile("[0-9]+");
    /** Slot 0 is the name, slot i > 0 the i-th run of digits in the data. */
    private static final int NAME = 0;
    /** Four letters per run of digits after the random prefix (base 26), for fewer than 26^4 runs in a template. */
    private static final int CODE = 4;
    private static final int MAX_RUNS = 26 * 26 * 26 * 26;

    private final String prefix = YamlTemplate.randomLetters(16);
    private YamlTemplate template;
    /** The template's data's {@link #shape} and its {@link #rest}. */
    private ConfigMap templateRest;
    private String templateShape;

    void write(ConfigMap configMap, Writer out) throws IOException {
        List<String> digits = new ArrayList<>();
        String shape = literal(configMap.getData()) ? shape(configMap.getData(), digits) : null;
        if (template == null && shape != null && digits.size() < MAX_RUNS) {
            template = template(configMap);
            templateShape = shape;
            templateRest = rest(configMap);
        }
        if (shape == null || !shape.equals(templateShape) || !rest(configMap).equals(templateRest)) {
            out.write(Serialization.asYaml(configMap));
            return;
        }
        String name = configMap.getMetadata().getName();
        template.write(out, slot -> slot == NAME ? name : digits.get(slot - 1));
    }

    /** The ConfigMap without its name and data: what must be the template's for the template to apply. */
    private static ConfigMap rest(ConfigMap configMap) {
        return new ConfigMapBuilder(configMap).withData(null).editMetadata().withName(null).endMetadata().build();
    }

    /** The ConfigMap's YAML with placeholders for its name and for each run of digits in its data. */
    private YamlTemplate template(ConfigMap configMap) {
        Map<String, String> data = new LinkedHashMap<>();
        int[] run = {0};
        configMap.getData().forEach((key, value) -> data.put(key,
                DIGITS.matcher(value).replaceAll(m -> prefix + code(++run[0]))));
        ConfigMap placeholders = new ConfigMapBuilder(configMap).withData(data).editMetadata()
                .withName(prefix + code(NAME)).endMetadata().build();
        YamlTemplate yaml = new YamlTemplate(Serialization.asYaml(placeholders),
                Pattern.compile(prefix + "[a-z]{" + CODE + "}"), ConfigMapYaml::slot);
        if (yaml.slots().stream().filter(slot -> slot > NAME).count() != run[0]) {
            throw new IllegalStateException("the ConfigMap's YAML does not hold each run of digits of its data once");
        }
        return yaml;
    }

    private static String code(int slot) {
        char[] code = new char[CODE];
        for (int i = CODE - 1; i >= 0; i--, slot /= 26) {
            code[i] = (char) ('a' + slot % 26);
        }
        return new String(code);
    }

    private static int slot(String placeholder) {
        int slot = 0;
        for (int i = placeholder.length() - CODE; i < placeholder.length(); i++) {
            slot = slot * 26 + placeholder.charAt(i) - 'a';
        }
        return slot;
    }

    /**
     * Whether YAML writes each value as a literal block: it has a line break, and only printable ASCII besides, and
     * no space at the end of a line or of the value.
     */
    private static boolean literal(Map<String, String> data) {
        if (data == null) {
            return false;
        }
        for (String value : data.values()) {
            if (value.indexOf('\n') < 0 || value.endsWith(" ") || value.contains(" \n")) {
                return false;
            }
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c != '\n' && (c < 0x20 || c > 0x7E)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** The keys and values with each run of digits as "0", which it adds to {@code digits}. */
    private static String shape(Map<String, String> data, List<String> digits) {
        StringBuilder shape = new StringBuilder();
        data.forEach((key, value) -> {
            shape.append(key).append('\0');
            shape.append(DIGITS.matcher(value).replaceAll(m -> {
                digits.add(m.group());
                return "0";
            })).append('\0');
        });
        return shape.toString();
    }
}
