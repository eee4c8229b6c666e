package dev.drover.manifest;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Validated --job-resources: the SLURM keys of the reference CLI plus {@code batch_size}, and the Kubernetes keys
 * {@code image}, {@code namespace} and {@code service_account} ({@link #checkFor} refuses keys that the chosen
 * strategy cannot honour). Keys are stored with
 * underscores (dashes are accepted on input); every value is checked against what SLURM accepts for it, so that no
 * value can smuggle another sbatch directive or shell code into a generated script.
 */
public final class JobResources {

    public static final String FIELD = "--job-resources";
    public static final String BATCH_SIZE = "batch_size";
    public static final String IMAGE_KEY = "image";
    public static final String NAMESPACE_KEY = "namespace";
    public static final String SERVICE_ACCOUNT_KEY = "service_account";

    private static final Pattern POSITIVE_INT = Pattern.compile("[1-9][0-9]{0,8}");
    private static final Pattern INT = Pattern.compile("-?[0-9]{1,9}");
    private static final Pattern MEM = Pattern.compile("[0-9]{1,12}[KMGTkmgt]?[Bb]?");
    /** M, M:S, H:M:S, D-H, D-H:M or D-H:M:S; the fields after the first are checked by {@link #slurmTime}. */
    private static final Pattern TIME = Pattern.compile("(?:([0-9]{1,5})-)?([0-9]{1,8})(?::([0-9]{1,2}))?(?::([0-9]{1,2}))?");
    /** sbatch would read a leading '-' as an option. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Pattern HOSTLIST = Pattern.compile("[A-Za-z0-9._\\-\\[\\],]{1,1024}");
    private static final Pattern GRES = Pattern.compile("[A-Za-z0-9._:\\-,()/]{1,256}");
    private static final Pattern CONSTRAINT = Pattern.compile("[A-Za-z0-9._\\-&|\\[\\]*:(),!=/]{1,256}");
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?");

    /** Each key with the pattern its value must match and the example shown when it does not. */
    private record Rule(Predicate<String> valid, String expected) {
        Rule(Pattern pattern, String expected) {
            this(value -> pattern.matcher(value).matches(), expected);
        }
    }

    private static final Map<String, Rule> RULES = new LinkedHashMap<>();

    static {
        RULES.put("constraint", new Rule(CONSTRAINT, "node features such as 'intel&ib' or '[rack1|rack2]'"));
        RULES.put("cpus_per_task", new Rule(POSITIVE_INT, "a positive whole number, e.g. 4"));
        RULES.put("exclude", new Rule(HOSTLIST, "a host list, e.g. node[1-3] (use the JSON form for commas)"));
        RULES.put("gres", new Rule(GRES, "generic resources, e.g. gpu:2 or gpu:a100:1"));
        RULES.put("mem", new Rule(MEM, "a size such as 500M, 32G or 1024 (a plain number means MB)"));
        RULES.put("nice", new Rule(INT, "a whole number, e.g. 100"));
        RULES.put("ntasks", new Rule(POSITIVE_INT, "a positive whole number, e.g. 1"));
        RULES.put("ntasks_per_node", new Rule(POSITIVE_INT, "a positive whole number, e.g. 1"));
        RULES.put("nodelist", new Rule(HOSTLIST, "a host list, e.g. node[1-2] (use the JSON form for commas)"));
        RULES.put("partition", new Rule(NAME, "a partition name: letters, digits, '.', '_' or '-', not starting"
                + " with '-' (sbatch would read it as an option), e.g. cpu"));
        RULES.put("reservation", new Rule(NAME, "a reservation name: letters, digits, '.', '_' or '-', not"
                + " starting with '-'"));
        RULES.put("time", new Rule(JobResources::slurmTime, "a SLURM time: M, M:S, H:M:S, D-H, D-H:M or D-H:M:S, e.g. 00:05:00"));
        RULES.put(BATCH_SIZE, new Rule(POSITIVE_INT, "a positive whole number of tasks per SLURM job, e.g. 50"));
        // Kubernetes only
        RULES.put(IMAGE_KEY, new Rule(ImageReference::isValid, "a container image, e.g. " + ImageReference.EXAMPLE));
        RULES.put(NAMESPACE_KEY, new Rule(DNS_LABEL, "a Kubernetes namespace: lower-case letters, digits and '-', at most 63"));
        RULES.put(SERVICE_ACCOUNT_KEY, new Rule(DNS_SUBDOMAIN, "a service account name: lower-case letters, digits, '-' and '.'"));
    }

    /** The keys that only mean something on Kubernetes. */
    public static final Set<String> KUBERNETES_KEYS = Set.of(IMAGE_KEY, NAMESPACE_KEY, SERVICE_ACCOUNT_KEY);

    /** SLURM keys with no Kubernetes equivalent, each with the reason given when refused. */
    private static final Map<String, String> NOT_ON_KUBERNETES = Map.of(
            "partition", "Kubernetes has no partitions: choose nodes with constraint=LABEL=VALUE (a nodeSelector),"
                    + " nodelist or exclude",
            "reservation", "Kubernetes has no reservations: choose reserved nodes with constraint=LABEL=VALUE"
                    + " (a nodeSelector) or nodelist",
            "nice", "Kubernetes does not order pods by niceness: pod priority comes from a PriorityClass set by the"
                    + " cluster's administrators",
            "ntasks", "each drover task runs as one pod with one container: there is no multi-task (MPI) layout on"
                    + " Kubernetes; use cpus_per_task for more CPUs",
            "ntasks_per_node", "each drover task runs as one pod with one container: there is no tasks-per-node"
                    + " layout on Kubernetes; use nodelist, exclude or constraint to place pods");

    /**
     * Refuses keys that Kubernetes cannot honour (SLURM-only keys), each with the reason, naming {@code field}: the
     * run's ({@link #FIELD}) or a task's jobResources. Local strategies take no resources at all (checked by RunPlan).
     */
    public void checkForKubernetes(String field) {
        for (String key : values.keySet()) {
            if (NOT_ON_KUBERNETES.containsKey(key)) {
                throw new ManifestException(field, "'" + key + "' has no meaning on Kubernetes: "
                        + NOT_ON_KUBERNETES.get(key) + ". Remove it");
            }
        }
    }

    /** Refuses keys that SLURM cannot honour (Kubernetes-only keys, node labels as constraints), naming {@code field}. */
    public void checkForSlurm(String field) {
        for (String key : values.keySet()) {
            if (KUBERNETES_KEYS.contains(key)) {
                throw new ManifestException(field, "'" + key + "' only applies to the kubernetes strategy"
                        + " (SLURM runs tasks on the cluster's own nodes, without container images, namespaces or"
                        + " service accounts): remove it");
            }
            if (key.equals("constraint") && (get(key).contains("=") || get(key).contains("/"))) {
                throw new ManifestException(field, "'constraint=" + get(key) + "': SLURM constraints are node feature"
                        + " names such as intel&ib; LABEL=VALUE node labels only apply to the kubernetes strategy");
            }
        }
    }

    private final Map<String, String> values;
    private int hash;

    private JobResources(Map<String, String> values) {
        this.values = Collections.unmodifiableMap(values);
    }

    public static final JobResources NONE = new JobResources(new LinkedHashMap<>());

    /** Parses the CLI or manifest form: a string {@code k=v[,k=v]} or JSON object, or a map. Null gives NONE. */
    public static JobResources parse(Object spec) {
        return parse(spec, FIELD, key -> FIELD);
    }

    /**
     * A task's own resources ({@code tasks[3].jobResources}): the same keys and rules as the run's, each error
     * naming the key's field ({@code tasks[3].jobResources.mem}); batch_size and the Kubernetes keys are run-wide.
     */
    public static JobResources parseTask(Object spec, String field) {
        JobResources own = parse(spec, field, key -> field + "." + key);
        for (String key : own.values.keySet()) {
            if (RUN_WIDE.contains(key)) {
                throw new ManifestException(field + "." + key, "applies to the whole run, not to one task: move it to"
                        + " the manifest's jobResources (or --job-resources)");
            }
        }
        return own;
    }

    /** Keys that shape the whole run (its batches, its pods' namespace, image and account), never one task. */
    private static final Set<String> RUN_WIDE = Set.of(BATCH_SIZE, IMAGE_KEY, NAMESPACE_KEY, SERVICE_ACCOUNT_KEY);

    private static JobResources parse(Object spec, String field, UnaryOperator<String> fieldOfKey) {
        if (spec == null) {
            return NONE;
        }
        Map<String, String> raw = new LinkedHashMap<>();
        if (spec instanceof Map<?, ?> map) {
            map.forEach((k, v) -> raw.put(String.valueOf(k), v == null ? "" : String.valueOf(v)));
        } else {
            String text = spec.toString().trim();
            if (text.startsWith("{")) {
                raw.putAll(parseJson(text, field));
            } else {
                raw.putAll(parsePairs(text, field));
            }
        }
        Map<String, String> checked = new LinkedHashMap<>();
        raw.forEach((key, value) -> {
            String normalised = key.trim().toLowerCase().replace('-', '_');
            Rule rule = RULES.get(normalised);
            if (rule == null) {
                throw new ManifestException(fieldOfKey.apply(key), "unknown key '" + key + "'; valid keys are "
                        + String.join(", ", RULES.keySet()) + " (dashes work too, e.g. cpus-per-task)");
            }
            String v = value.trim();
            if (v.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
                throw new ManifestException(fieldOfKey.apply(normalised), "the value of '" + normalised
                        + "' contains a control character (newline, tab, ...): remove it");
            }
            if (!rule.valid().test(v)) {
                String why = normalised.equals(IMAGE_KEY) ? ImageReference.problem(v) : "expected " + rule.expected();
                throw new ManifestException(fieldOfKey.apply(normalised), "'" + normalised + "=" + v
                        + "' is not valid: " + why);
            }
            if (checked.put(normalised, v) != null) {
                throw new ManifestException(fieldOfKey.apply(normalised), "'" + normalised
                        + "' is given twice: keep one");
            }
        });
        return new JobResources(checked);
    }

    private static Map<String, String> parsePairs(String text, String field) {
        Map<String, String> raw = new LinkedHashMap<>();
        if (text.isEmpty()) {
            throw new ManifestException(field, "is empty: give key=value pairs, e.g. mem=1G,time=00:10:00");
        }
        for (String pair : text.split(",", -1)) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new ManifestException(field, "'" + pair + "' is not key=value. Values cannot contain ',' in the"
                        + " key=value form: use a SLURM range (nodelist=node[1-2]) or the map/JSON form"
                        + " {\"nodelist\": \"node1,node2\"}");
            }
            String key = pair.substring(0, eq).trim();
            if (raw.containsKey(key)) {
                throw new ManifestException(field, "'" + key + "' is given twice: keep one");
            }
            raw.put(key, pair.substring(eq + 1));
        }
        return raw;
    }

    private static Map<String, String> parseJson(String text, String field) {
        JsonNode node = ManifestParser.parseJson(text, field);
        Map<String, String> raw = new LinkedHashMap<>();
        node.fields().forEachRemaining(e -> {
            if (!e.getValue().isValueNode() || e.getValue().isNull()) {
                throw new ManifestException(field, "the value of '" + e.getKey() + "' must be a string or a number");
            }
            raw.put(e.getKey(), e.getValue().asText());
        });
        return raw;
    }

    /** A SLURM time limit whose fields are in range: sbatch refuses 10:75 or 1-30, and drover refuses them first. */
    static boolean slurmTime(String value) {
        if (value.equals("UNLIMITED") || value.equals("INFINITE")) {
            return true;
        }
        Matcher time = TIME.matcher(value);
        if (!time.matches()) {
            return false;
        }
        boolean days = time.group(1) != null;
        int fields = 1 + (time.group(3) != null ? 1 : 0) + (time.group(4) != null ? 1 : 0);
        // with days, the first field after '-' is hours; without, one field is minutes and three start with hours
        if (days && Integer.parseInt(time.group(2)) > 23 || !days && fields == 3 && time.group(2).length() > 6) {
            return false;
        }
        return (time.group(3) == null || Integer.parseInt(time.group(3)) < 60)
                && (time.group(4) == null || Integer.parseInt(time.group(4)) < 60);
    }

    /** The keys a scheduler understands (all but batch_size), in documentation order; the last three are Kubernetes'. */
    public static List<String> schedulerKeys() {
        return RULES.keySet().stream().filter(k -> !k.equals(BATCH_SIZE)).toList();
    }

    public boolean isEmpty() {
        return values.isEmpty();
    }

    public String get(String key) {
        return values.get(key);
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    /** Everything but batch_size, which is drover's own and never reaches the scheduler. */
    public Map<String, String> schedulerValues() {
        Map<String, String> copy = new LinkedHashMap<>(values);
        copy.remove(BATCH_SIZE);
        return copy;
    }

    /** The sbatch options, dashed: {@code --cpus-per-task=4}. */
    public List<String> sbatchOptions() {
        List<String> options = new ArrayList<>();
        schedulerValues().forEach((k, v) -> options.add("--" + k.replace('_', '-') + "=" + v));
        return options;
    }

    /** These resources with {@code over}'s values in place of (or added to) their own. */
    public JobResources with(JobResources over) {
        Map<String, String> merged = new LinkedHashMap<>(values);
        merged.putAll(over.values);
        return new JobResources(merged);
    }

    public Map<String, String> asMap() {
        return values;
    }

    /** Same keys and values: tasks whose resources are equal share a group (an array, a Job). */
    @Override
    public boolean equals(Object other) {
        return other instanceof JobResources r && r.values.equals(values);
    }

    /** Cached: pending tasks are grouped by their resources, one look-up each. */
    @Override
    public int hashCode() {
        int h = hash;
        if (h == 0) {
            h = values.hashCode();
            hash = h;
        }
        return h;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        values.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ",").append(k).append('=').append(v));
        return sb.toString();
    }
}
