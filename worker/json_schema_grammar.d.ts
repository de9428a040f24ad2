/**
 * The GBNF grammar (the engine's grammar dialect, as llama.cpp writes it) of the JSON values
 * that validate against `schema`. Supported: type (one or a list), properties, required,
 * additionalProperties, enum, const, items, minItems, maxItems, anyOf, oneOf (alternatives must
 * not overlap), allOf with one member, $ref to #/$defs/NAME or #/definitions/NAME, minLength,
 * maxLength, format date | time | date-time | uuid, and annotations (ignored).
 * @throws UnsupportedError (code 'unsupported') for any other keyword or format;
 *   ArgumentError (code 'argument') for a schema that is not valid.
 */
export function jsonSchemaToGrammar(schema: object | boolean | string): string;
