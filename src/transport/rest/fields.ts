import { type DescField, type DescMessage, type JsonValue, ScalarType } from "@bufbuild/protobuf";
import { protoCamelCase } from "@bufbuild/protobuf/reflect";

/**
 * Well-known messages whose JSON form is a single string (or number/bool),
 * so a path variable or query parameter can carry them as text.
 */
const textMessages = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.FieldMask",
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
]);

/** Resolves a dotted field path (proto or JSON names) to its fields; undefined when a name is unknown. */
export function resolveFieldPath(message: DescMessage, path: string): DescField[] | undefined {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const name of path.split(".")) {
    const field: DescField | undefined = current?.fields.find((candidate) => candidate.name === name || candidate.jsonName === name);
    if (!field) return undefined;
    fields.push(field);
    current = field.fieldKind === "message" && !textMessages.has(field.message.typeName) ? field.message : undefined;
  }
  return fields;
}

/** Why the fields cannot be set from one piece of URL text (a path variable or query value); undefined when they can. */
export function textLeafProblem(fields: readonly DescField[], allowRepeated: boolean): string | undefined {
  const leaf = fields.at(-1)!;
  const parents = fields.slice(0, -1);
  if (parents.some((field) => field.fieldKind !== "message")) return "only singular message fields can be traversed";
  switch (leaf.fieldKind) {
    case "scalar":
    case "enum":
      return undefined;
    case "message":
      return textMessages.has(leaf.message.typeName) ? undefined : "it is a message; name one of its fields with a dotted path";
    case "list":
      if (!allowRepeated) return "it is repeated";
      return leaf.listKind === "message" ? "it is a list of messages" : undefined;
    case "map":
      return "it is a map";
  }
}

/** The proto3 JSON value for URL text destined to the leaf field, for `fromJson` to parse and check. */
export function jsonFromText(leaf: DescField, text: string): JsonValue {
  const scalar = leaf.fieldKind === "scalar" || (leaf.fieldKind === "list" && leaf.listKind === "scalar") ? leaf.scalar : undefined;
  const isEnum = leaf.fieldKind === "enum" || (leaf.fieldKind === "list" && leaf.listKind === "enum");
  const typeName = leaf.fieldKind === "message" ? leaf.message.typeName : undefined;
  if (scalar === ScalarType.BOOL || typeName === "google.protobuf.BoolValue") {
    return text === "true" ? true : text === "false" ? false : text;
  }
  if (isEnum && /^-?\d+$/.test(text)) return Number(text);
  // The JSON form of a FieldMask is lowerCamelCase; URLs commonly use the proto names.
  if (typeName === "google.protobuf.FieldMask") {
    return text
      .split(",")
      .map((path) => path.split(".").map(protoCamelCase).join("."))
      .join(",");
  }
  return text;
}

/** `{a: {b: value}}` for the path a.b, with proto field names. */
export function nestedJson(fields: readonly DescField[], value: JsonValue): JsonValue {
  return fields.reduceRight<JsonValue>((inner, field) => ({ [field.name]: inner }), value);
}
