package dev.drover.kubernetes;

import dev.drover.manifest.JobResources;
import dev.drover.plan.KubernetesTerms;
import io.fabric8.kubernetes.api.model.Affinity;
import io.fabric8.kubernetes.api.model.AffinityBuilder;
import io.fabric8.kubernetes.api.model.NodeSelectorRequirement;
import io.fabric8.kubernetes.api.model.NodeSelectorRequirementBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * --job-resources as Kubernetes objects: the {@link KubernetesTerms} the plan checked, as fabric8 quantities, resource
 * requirements and a required node affinity on {@code kubernetes.io/hostname}; activeDeadlineSeconds goes to
 * {@link PodDeadline}.
 */
public record KubeResources(Map<String, Quantity> requests, Map<String, Quantity> limits, Long activeDeadlineSeconds,
                            List<String> nodelist, List<String> exclude, Map<String, String> nodeSelector,
                            String namespace, String serviceAccount) {

    public static final String GPU = KubernetesTerms.GPU;
    public static final String HOSTNAME = "kubernetes.io/hostname";

    public static KubeResources from(JobResources resources) {
        KubernetesTerms terms = KubernetesTerms.from(resources);
        return new KubeResources(quantities(terms.requests()), quantities(terms.limits()),
                terms.activeDeadlineSeconds(), terms.nodelist(), terms.exclude(), terms.nodeSelector(),
                terms.namespace(), terms.serviceAccount());
    }

    private static Map<String, Quantity> quantities(Map<String, String> values) {
        Map<String, Quantity> quantities = new LinkedHashMap<>();
        values.forEach((name, value) -> quantities.put(name, new Quantity(value)));
        return quantities;
    }

    public ResourceRequirements requirements() {
        return new ResourceRequirementsBuilder().withRequests(requests.isEmpty() ? null : requests)
                .withLimits(limits.isEmpty() ? null : limits).build();
    }

    /**
     * Required node affinity from nodelist and exclude, and a preference against the nodes a rerun avoids (where an
     * attempt's node failed or was drained): preferred, not required, so that a one-node cluster still runs the task
     * and drover needs no permission to list nodes. Null when there is none of these.
     */
    public Affinity affinity(java.util.Set<String> avoid) {
        if (nodelist.isEmpty() && exclude.isEmpty() && avoid.isEmpty()) {
            return null;
        }
        List<NodeSelectorRequirement> terms = new ArrayList<>();
        if (!nodelist.isEmpty()) {
            terms.add(new NodeSelectorRequirementBuilder().withKey(HOSTNAME).withOperator("In").withValues(nodelist).build());
        }
        if (!exclude.isEmpty()) {
            terms.add(new NodeSelectorRequirementBuilder().withKey(HOSTNAME).withOperator("NotIn").withValues(exclude).build());
        }
        var nodeAffinity = new AffinityBuilder().withNewNodeAffinity();
        if (!terms.isEmpty()) {
            nodeAffinity = nodeAffinity.withNewRequiredDuringSchedulingIgnoredDuringExecution()
                    .addNewNodeSelectorTerm().withMatchExpressions(terms).endNodeSelectorTerm()
                    .endRequiredDuringSchedulingIgnoredDuringExecution();
        }
        if (!avoid.isEmpty()) {
            nodeAffinity = nodeAffinity.addNewPreferredDuringSchedulingIgnoredDuringExecution().withWeight(100)
                    .withNewPreference().addNewMatchExpression().withKey(HOSTNAME).withOperator("NotIn")
                    .withValues(new java.util.TreeSet<>(avoid).stream().toList()).endMatchExpression().endPreference()
                    .endPreferredDuringSchedulingIgnoredDuringExecution();
        }
        return nodeAffinity.endNodeAffinity().build();
    }
}
