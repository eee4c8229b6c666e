package dev.drover.manifest;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;

/** Reads a generator's {@code items:} list as it streams into an {@link ItemList}: each item a string or a number. */
final class ItemListReader extends StreamedList {

    private final ItemList.Builder items = new ItemList.Builder();

    @Override
    void add(JsonNode item, int index) {
        String field = "items[" + index + "]";
        if (item.has("jobResources")) {
            throw ManifestReader.noGeneratedResources(field + ".jobResources");
        }
        items.add(ManifestReader.scalarText(item, field));
    }

    /** The items, once the list's presence and the template they go into have been checked (by the caller). */
    List<String> finish() {
        ManifestReader.checkSize(count(), "items");
        if (problem() != null) {
            throw problem();
        }
        return items.build();
    }
}
