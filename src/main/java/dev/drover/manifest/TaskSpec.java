package dev.drover.manifest;

import java.util.List;
import java.util.Map;

/**
 * One task of a manifest, resolved: its argv, the environment it adds (manifest env overlaid by the task's own)
 * and its working directory (null: the directory drover runs in).
 */
public record TaskSpec(int index, String id, List<String> command, Map<String, String> env, String workdir) {
}
