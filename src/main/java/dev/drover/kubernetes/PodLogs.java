package dev.drover.kubernetes;

import dev.drover.kubernetes.KubeWatches.RunWatch;
import dev.drover.manifest.TaskSpec;
import dev.drover.run.Run;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An ended pod's log, saved into the run directory as soon as the tracker sees the pod end (before
 * ttlSecondsAfterFinished can delete it); a later attempt's is appended after a drover line naming it.
 */
final class PodLogs {

    private static final Logger LOG = LoggerFactory.getLogger(PodLogs.class);

    private PodLogs() {
    }

    static void save(KubeClients clients, RunWatch watch, TaskSpec task, String podName, int attempt) {
        Path log = watch.run.dir().resolve(Run.logPath(task));
        String text;
        try {
            text = clients.get().pods().inNamespace(watch.namespace).withName(podName).getLog();
        } catch (RuntimeException e) {
            text = "drover: cannot fetch the log of pod " + podName + ": " + e.getMessage() + "\n";
        }
        if (text == null) {
            text = "";
        }
        try {
            if (attempt > 1) {
                Files.writeString(log, "--- drover: attempt " + attempt + " (pod " + podName + ") ---\n" + text,
                        StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } else {
                Files.writeString(log, text, StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            LOG.warn("cannot write {}: {}", log, e.getMessage());
        }
    }

}
