package dev.drover.kubernetes;

import dev.drover.cluster.Settlement;
import dev.drover.run.TimedOut;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;

/**
 * How a task's pod ended, as drover reports it: the exit code, Kubernetes' reason (the task's backendState), the
 * reason in words, if it failed, and the node it ran on. A pod with the DisruptionTarget condition (preempted,
 * evicted, its node drained or lost) ends as {@value #DISRUPTED}: not the task's fault.
 */
record PodOutcome(int exitCode, String backendState, String reason, String node) {

    static final String DISRUPTED = "DisruptionTarget";

    /** What {@link Settlement} decides on. */
    Settlement.Outcome settlement() {
        return new Settlement.Outcome(exitCode, backendState, reason, Settlement.Cause.of(backendState), node);
    }

    /**
     * Exit code and reason of an ended pod, from its container's terminated state first (OOMKilled → 137).
     *
     * @param deadline the pod's time limit, named in the reason of a pod that went over it (null: none set)
     */
    static PodOutcome of(Pod pod, PodDeadline deadline) {
        String node = pod.getSpec() != null ? pod.getSpec().getNodeName() : null;
        PodOutcome outcome = of(pod, deadline, node);
        var disruption = pod.getStatus().getConditions() == null ? null : pod.getStatus().getConditions().stream()
                .filter(c -> DISRUPTED.equals(c.getType()) && "True".equals(c.getStatus())).findFirst().orElse(null);
        if (disruption == null || outcome.exitCode() == 0 || "Evicted".equals(outcome.backendState())) {
            return outcome;
        }
        return new PodOutcome(outcome.exitCode(), DISRUPTED, DISRUPTED + ": " + (disruption.getReason() != null
                ? disruption.getReason() + ": " : "") + (disruption.getMessage() != null ? disruption.getMessage()
                : "Kubernetes stopped the pod (preemption, eviction, or its node was drained or lost)"), node);
    }

    private static PodOutcome of(Pod pod, PodDeadline deadline, String node) {
        ContainerStateTerminated terminated = terminated(pod);
        String podReason = pod.getStatus().getReason();
        if (terminated == null) {
            String state = podReason != null ? podReason : pod.getStatus().getPhase();
            if ("DeadlineExceeded".equals(state)) { // its container never ran: it cannot have run too long
                return new PodOutcome(Integer.MIN_VALUE, state, state + ": the pod did not start its container within"
                        + (deadline != null ? " its limit of " + deadline.seconds() + " s (" + deadline.source() + ")"
                        : " its time limit"), node);
            }
            return new PodOutcome("Succeeded".equals(pod.getStatus().getPhase()) ? 0 : Integer.MIN_VALUE, state,
                    "Succeeded".equals(pod.getStatus().getPhase()) ? null
                            : describe(state, pod.getStatus().getMessage(), deadline), node);
        }
        int exit = terminated.getExitCode() != null ? terminated.getExitCode() : Integer.MIN_VALUE;
        String state = podReason != null ? podReason : terminated.getReason() != null ? terminated.getReason()
                : exit == 0 ? "Completed" : "Error";
        if ("DeadlineExceeded".equals(state) && deadline != null && deadline.timeout() != null) {
            return new PodOutcome(TimedOut.EXIT_CODE, state, TimedOut.reason(deadline.timeout()), node);
        }
        String message = terminated.getMessage() != null && !PodUsage.isUsage(terminated.getMessage())
                ? terminated.getMessage() : pod.getStatus().getMessage();
        String reason = exit == 0 || "Error".equals(state) ? null : describe(state, message, deadline);
        return new PodOutcome(exit, state, reason, node);
    }

    /** The terminated state of the task's container; null if it never ran (or its status is gone). */
    static ContainerStateTerminated terminated(Pod pod) {
        ContainerStateTerminated terminated = null;
        if (pod.getStatus() != null && pod.getStatus().getContainerStatuses() != null) {
            for (ContainerStatus status : pod.getStatus().getContainerStatuses()) {
                if (IndexedJobBuilder.CONTAINER.equals(status.getName()) && status.getState() != null) {
                    terminated = status.getState().getTerminated();
                }
            }
        }
        return terminated;
    }

    private static String describe(String state, String message, PodDeadline deadline) {
        if ("DeadlineExceeded".equals(state)) {
            // Kubernetes' message ("Pod was active on the node longer than the specified deadline") names no limit
            return state + ": " + (deadline != null ? deadline.exceeded() : "the task ran longer than its time limit");
        }
        String text = switch (state) {
            case "OOMKilled" -> "the container went over its memory limit (--job-resources mem)";
            case "Evicted" -> "the node evicted the pod";
            default -> null;
        };
        String detail = message != null && !message.isBlank() ? message : text;
        return detail != null ? state + ": " + detail : state;
    }
}
