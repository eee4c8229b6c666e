package dev.drover.plan;

import dev.drover.manifest.JobResources;
import dev.drover.manifest.ManifestException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * --job-resources in Kubernetes terms, checked when a run is planned so that errors come before anything runs:
 * {@code mem} (SLURM units; a plain number is MiB) becomes the memory request and limit, {@code cpus_per_task} the cpu
 * request, {@code gres=gpu:N} the {@code nvidia.com/gpu} limit, {@code time} each pod's activeDeadlineSeconds,
 * {@code nodelist}/{@code exclude} host names for a node affinity, {@code constraint} (LABEL=VALUE terms joined by
 * '&', a bare LABEL meaning LABEL=true) the nodeSelector. Everything that cannot be translated is refused with the
 * reason. Quantities are Kubernetes quantity strings; the kubernetes lane builds its objects from them.
 */
public record KubernetesTerms(Map<String, String> requests, Map<String, String> limits, Long activeDeadlineSeconds,
                              List<String> nodelist, List<String> exclude, Map<String, String> nodeSelector,
                              String namespace, String serviceAccount) {

    public static final String GPU = "nvidia.com/gpu";

    private static final Pattern MEM = Pattern.compile("([0-9]+)([KMGTkmgt]?)[Bb]?");
    private static final Pattern GRES = Pattern.compile("gpu(?::([A-Za-z0-9._-]+))?(?::([0-9]+))?");
    private static final Pattern LABEL_KEY = Pattern.compile(
            "([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?");
    private static final Pattern LABEL_VALUE = Pattern.compile("([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?");
    private static final Pattern HOST = Pattern.compile("[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?");

    public static KubernetesTerms from(JobResources resources) {
        Map<String, String> requests = new LinkedHashMap<>();
        Map<String, String> limits = new LinkedHashMap<>();
        String mem = resources.get("mem");
        if (mem != null) {
            String memory = memory(mem);
            requests.put("memory", memory);
            limits.put("memory", memory);
        }
        String cpus = resources.get("cpus_per_task");
        if (cpus != null) {
            requests.put("cpu", cpus);
        }
        String gres = resources.get("gres");
        if (gres != null) {
            limits.put(GPU, Integer.toString(gpus(gres)));
        }
        String time = resources.get("time");
        Long deadline = time == null ? null : seconds(time);
        List<String> nodelist = hosts(resources.get("nodelist"), "nodelist");
        List<String> exclude = hosts(resources.get("exclude"), "exclude");
        Map<String, String> selector = selector(resources.get("constraint"));
        return new KubernetesTerms(requests, limits, deadline, nodelist, exclude, selector,
                resources.get(JobResources.NAMESPACE_KEY), resources.get(JobResources.SERVICE_ACCOUNT_KEY));
    }

    /** SLURM memory to a Kubernetes quantity: {@code 32G} → {@code 32Gi}, {@code 500} (MB in SLURM) → {@code 500Mi}. */
    static String memory(String mem) {
        Matcher m = MEM.matcher(mem);
        if (!m.matches()) {
            throw new ManifestException(JobResources.FIELD, "'mem=" + mem + "' is not a size: use e.g. 500M or 32G");
        }
        if (Long.parseLong(m.group(1)) == 0) {
            throw new ManifestException(JobResources.FIELD, "'mem=0' (all of a node's memory in SLURM) has no"
                    + " Kubernetes equivalent: give the memory a task needs, e.g. mem=4G");
        }
        String unit = m.group(2).isEmpty() ? "M" : m.group(2).toUpperCase();
        return Long.parseLong(m.group(1)) + unit + "i";
    }

    static int gpus(String gres) {
        Matcher m = GRES.matcher(gres);
        if (!m.matches()) {
            throw new ManifestException(JobResources.FIELD, "'gres=" + gres + "': only GPUs map to Kubernetes"
                    + " (gres=gpu:N becomes " + GPU + ": N); other generic resources have no standard equivalent");
        }
        if (m.group(1) != null && m.group(2) == null && m.group(1).matches("[0-9]+")) {
            return positive(Integer.parseInt(m.group(1)), gres);
        }
        if (m.group(1) != null) {
            throw new ManifestException(JobResources.FIELD, "'gres=" + gres + "': GPU types are named differently on"
                    + " every Kubernetes cluster: give gres=gpu:N and pick the GPU nodes with constraint=LABEL=VALUE");
        }
        return m.group(2) == null ? 1 : positive(Integer.parseInt(m.group(2)), gres);
    }

    private static int positive(int n, String gres) {
        if (n < 1) {
            throw new ManifestException(JobResources.FIELD, "'gres=" + gres + "' asks for no GPU: remove it");
        }
        return n;
    }

    /** A SLURM time limit in seconds (M, M:S, H:M:S, D-H, D-H:M, D-H:M:S); null for UNLIMITED. */
    static Long seconds(String time) {
        if (time.equalsIgnoreCase("UNLIMITED") || time.equalsIgnoreCase("INFINITE")) {
            return null;
        }
        long days = 0;
        String rest = time;
        int dash = time.indexOf('-');
        String[] parts;
        long total;
        if (dash >= 0) {
            days = Long.parseLong(time.substring(0, dash));
            rest = time.substring(dash + 1);
            parts = rest.split(":");
            long h = Long.parseLong(parts[0]);
            long m = parts.length > 1 ? Long.parseLong(parts[1]) : 0;
            long s = parts.length > 2 ? Long.parseLong(parts[2]) : 0;
            total = ((days * 24 + h) * 60 + m) * 60 + s;
        } else {
            parts = rest.split(":");
            total = switch (parts.length) {
                case 1 -> Long.parseLong(parts[0]) * 60;
                case 2 -> Long.parseLong(parts[0]) * 60 + Long.parseLong(parts[1]);
                default -> (Long.parseLong(parts[0]) * 60 + Long.parseLong(parts[1])) * 60 + Long.parseLong(parts[2]);
            };
        }
        if (total <= 0) {
            throw new ManifestException(JobResources.FIELD, "'time=" + time + "' is no time at all: give a limit such"
                    + " as 00:10:00, or UNLIMITED");
        }
        return total;
    }

    /** A SLURM host list ({@code node[1-3,7],gpu01}) expanded to host names. */
    static List<String> hosts(String list, String key) {
        if (list == null) {
            return List.of();
        }
        List<String> hosts = new ArrayList<>();
        StringBuilder term = new StringBuilder();
        int depth = 0;
        for (char c : (list + ",").toCharArray()) {
            if (c == ',' && depth == 0) {
                if (!term.isEmpty()) {
                    expand(term.toString(), hosts, key);
                }
                term.setLength(0);
                continue;
            }
            depth += c == '[' ? 1 : c == ']' ? -1 : 0;
            term.append(c);
        }
        for (String host : hosts) {
            if (!HOST.matcher(host).matches()) {
                throw new ManifestException(JobResources.FIELD, "'" + key + "': '" + host + "' is not a Kubernetes"
                        + " node name (lower-case letters, digits, '-' and '.')");
            }
        }
        if (hosts.size() > 1000) {
            throw new ManifestException(JobResources.FIELD, "'" + key + "' names " + hosts.size() + " nodes; at most"
                    + " 1000 fit a node affinity: label the nodes and use constraint=LABEL=VALUE");
        }
        return List.copyOf(hosts);
    }

    private static void expand(String term, List<String> out, String key) {
        int open = term.indexOf('[');
        if (open < 0) {
            out.add(term);
            return;
        }
        int close = term.indexOf(']', open);
        if (close < 0) {
            throw new ManifestException(JobResources.FIELD, "'" + key + "=" + term + "': '[' without ']'");
        }
        String prefix = term.substring(0, open);
        String suffix = term.substring(close + 1);
        for (String range : term.substring(open + 1, close).split(",")) {
            String[] ends = range.split("-", 2);
            if (!ends[0].matches("[0-9]+") || (ends.length == 2 && !ends[1].matches("[0-9]+"))) {
                throw new ManifestException(JobResources.FIELD, "'" + key + "=" + term + "': '" + range
                        + "' is not a number or range such as 1-3");
            }
            int from = Integer.parseInt(ends[0]);
            int to = ends.length == 2 ? Integer.parseInt(ends[1]) : from;
            if (to < from || to - from > 1000) {
                throw new ManifestException(JobResources.FIELD, "'" + key + "=" + term + "': range '" + range
                        + "' is empty or too large");
            }
            for (int i = from; i <= to; i++) {
                String digits = Integer.toString(i);
                String padded = "0".repeat(Math.max(0, ends[0].length() - digits.length())) + digits;
                expand(prefix + padded + suffix, out, key);
            }
        }
    }

    static Map<String, String> selector(String constraint) {
        Map<String, String> selector = new LinkedHashMap<>();
        if (constraint == null) {
            return selector;
        }
        for (String term : constraint.split("&", -1)) {
            int eq = term.indexOf('=');
            String key = eq < 0 ? term : term.substring(0, eq);
            String value = eq < 0 ? "true" : term.substring(eq + 1);
            if (!LABEL_KEY.matcher(key).matches() || !LABEL_VALUE.matcher(value).matches()) {
                throw new ManifestException(JobResources.FIELD, "'constraint=" + constraint + "': on Kubernetes a"
                        + " constraint is node labels joined by '&' (a nodeSelector, which can only AND labels),"
                        + " e.g. constraint=disktype=ssd&topology.kubernetes.io/zone=eu-1a; '" + term
                        + "' is not LABEL or LABEL=VALUE");
            }
            selector.put(key, value);
        }
        return selector;
    }
}
