package dev.drover.kubernetes;

import io.fabric8.kubernetes.api.model.KubernetesResource;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Fails on any field the Kubernetes model does not know. fabric8's model classes keep unknown fields in
 * {@code additionalProperties} instead of failing, so after deserialising, every model object reachable from the
 * root must have none.
 */
final class StrictModel {

    private StrictModel() {
    }

    static void assertNoUnknownFields(Object root) {
        walk(root, "$", new IdentityHashMap<>());
    }

    private static void walk(Object node, String path, IdentityHashMap<Object, Boolean> seen) {
        if (node == null || seen.put(node, true) != null) {
            return;
        }
        if (node instanceof Collection<?> c) {
            int i = 0;
            for (Object o : c) {
                walk(o, path + "[" + i++ + "]", seen);
            }
            return;
        }
        if (node instanceof Map<?, ?> m) {
            m.forEach((k, v) -> walk(v, path + "." + k, seen));
            return;
        }
        if (!(node instanceof KubernetesResource) && !node.getClass().getPackageName().startsWith("io.fabric8.kubernetes.api.model")) {
            return;
        }
        for (Method getter : node.getClass().getMethods()) {
            if (getter.getParameterCount() != 0 || Modifier.isStatic(getter.getModifiers())
                    || !getter.getName().startsWith("get") || getter.getDeclaringClass() == Object.class) {
                continue;
            }
            Object value;
            try {
                value = getter.invoke(node);
            } catch (ReflectiveOperationException e) {
                continue;
            }
            if (getter.getName().equals("getAdditionalProperties")) {
                if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    throw new AssertionError("unknown field(s) " + extra.keySet() + " at " + path + " ("
                            + node.getClass().getSimpleName() + ")");
                }
                continue;
            }
            walk(value, path + "." + getter.getName().substring(3), seen);
        }
    }
}
