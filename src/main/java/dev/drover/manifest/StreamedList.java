package dev.drover.manifest;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.io.IOException;

/**
 * A manifest's list read as the parser streams it, one element's small tree at a time, into a compact store: a
 * million elements never exist as a million trees. Each element is checked as it is read; the first problem is kept
 * and the rest of the list only counted, so that the manifest's other fields (which may come after the list) are
 * checked first and errors come in the same order as for a manifest read whole: the list's own checks (empty, too
 * long), then each element in order.
 */
abstract class StreamedList {

    private int count;
    private ManifestException problem;

    /** Reads the list; the parser is at its START_ARRAY and is left at its END_ARRAY. */
    final void read(JsonParser parser) throws IOException {
        while (parser.nextToken() != JsonToken.END_ARRAY) {
            if (problem != null || count >= ManifestReader.MAX_TASKS) {
                parser.skipChildren();
            } else {
                try {
                    add(element(parser), count);
                } catch (ManifestException e) {
                    problem = e;
                }
            }
            count++;
        }
    }

    /** The element at the parser as a tree; a string (the commonest) made directly, without the mapper's set-up. */
    private static JsonNode element(JsonParser parser) throws IOException {
        return parser.currentToken() == JsonToken.VALUE_STRING ? TextNode.valueOf(parser.getText())
                : WrittenTree.read(parser);
    }

    /** Checks the element at index and keeps it, or throws its problem, which ends the adding. */
    abstract void add(JsonNode element, int index);

    /** How many elements the list has, all counted even when not all were added. */
    final int count() {
        return count;
    }

    /** The first element's problem, or null. */
    final ManifestException problem() {
        return problem;
    }
}
