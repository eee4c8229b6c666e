package dev.drover.manifest;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BigIntegerNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.io.IOException;

/**
 * A manifest's values as trees whose numbers and booleans keep the text they were written as: a program argument,
 * an item or an environment value written {@code 010}, {@code 0x1F}, {@code 1e3}, {@code 1_000} or {@code yes}
 * reaches the task as written (YAML reads them as 8, 31, 1000.0, 1000 and true), while a field that wants a number
 * still reads its value. {@code asText()} is the written text; everything else is the parsed value's.
 */
final class WrittenTree {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private WrittenTree() {
    }

    /** The value at the parser (its next one if none is current), the parser left at its last token. */
    static JsonNode read(JsonParser parser) throws IOException {
        JsonToken token = parser.currentToken() != null ? parser.currentToken() : parser.nextToken();
        if (token == null) {
            return NODES.missingNode();
        }
        switch (token) {
            case START_OBJECT -> {
                ObjectNode object = NODES.objectNode();
                for (String field; (field = parser.nextFieldName()) != null; ) {
                    parser.nextToken();
                    object.set(field, read(parser));
                }
                return object;
            }
            case START_ARRAY -> {
                ArrayNode array = NODES.arrayNode();
                while (parser.nextToken() != JsonToken.END_ARRAY) {
                    array.add(read(parser));
                }
                return array;
            }
            case VALUE_STRING -> {
                return TextNode.valueOf(parser.getText());
            }
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                return number(parser, parser.getText());
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                String written = parser.getText();
                return new BooleanNode(token == JsonToken.VALUE_TRUE) {
                    @Override
                    public String asText() {
                        return written;
                    }
                };
            }
            case VALUE_NULL -> {
                return NODES.nullNode();
            }
            case VALUE_EMBEDDED_OBJECT -> {
                Object embedded = parser.getEmbeddedObject();
                return embedded instanceof byte[] bytes ? NODES.binaryNode(bytes) : NODES.pojoNode(embedded);
            }
            default -> throw new IllegalStateException("unexpected " + token + " in a manifest value");
        }
    }

    private static JsonNode number(JsonParser parser, String written) throws IOException {
        return switch (parser.getNumberType()) {
            case INT -> new IntNode(parser.getIntValue()) {
                @Override
                public String asText() {
                    return written;
                }
            };
            case LONG -> new LongNode(parser.getLongValue()) {
                @Override
                public String asText() {
                    return written;
                }
            };
            case BIG_INTEGER -> new BigIntegerNode(parser.getBigIntegerValue()) {
                @Override
                public String asText() {
                    return written;
                }
            };
            case FLOAT, DOUBLE -> new DoubleNode(parser.getDoubleValue()) {
                @Override
                public String asText() {
                    return written;
                }
            };
            case BIG_DECIMAL -> new DecimalNode(parser.getDecimalValue()) {
                @Override
                public String asText() {
                    return written;
                }
            };
        };
    }
}
