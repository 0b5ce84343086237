import {
  create,
  type DescField,
  equals,
  type JsonValue,
  type Message,
  mergeFromJson,
} from "@bufbuild/protobuf";
import { isReflectMessage, reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { Code, ConnectError } from "@connectrpc/connect";
import { jsonFromText, nestedJson, resolveFieldPath, textLeafProblem } from "./fields.js";
import type { PathBindings } from "./path-template.js";
import type { HttpBinding } from "./routes.js";

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

/** protobuf-es JSON errors name the message or field and say what is wrong. */
function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Builds the request message of a REST call the way http.proto prescribes:
 * the body fills the whole request (`body: "*"`) or one field, path variables
 * set the fields they name, and query parameters set any remaining field by
 * its dotted path. Fields accept proto and JSON names; unknown fields and
 * unknown query parameters are refused. A field bound by the path may also
 * appear in the body only with the same value. Throws InvalidArgument
 * ConnectErrors with a readable message.
 */
export function decodeRequest(binding: HttpBinding, variables: PathBindings, query: URLSearchParams, body: string): Message {
  const schema = binding.method.input;
  const message = create(schema);
  const merge = (json: JsonValue) => mergeFromJson(schema, message, json, { ignoreUnknownFields: false });

  if (binding.body === "") {
    if (body.trim() !== "") throw invalid(`${binding.httpMethod} ${binding.template.source} takes no request body`);
  } else if (body.trim() !== "") {
    let parsed: JsonValue;
    try {
      parsed = JSON.parse(body) as JsonValue;
    } catch (error) {
      throw invalid(`the request body is not valid JSON: ${reasonOf(error)}`);
    }
    try {
      merge(binding.bodyField ? { [binding.bodyField.name]: parsed } : parsed);
    } catch (error) {
      throw invalid(`invalid request body: ${reasonOf(error)}`);
    }
  }

  for (const [fieldPath, fields] of binding.pathFields) {
    const text = variables.get(fieldPath)!;
    const before = leafValue(message, fields);
    try {
      merge(nestedJson(fields, jsonFromText(fields.at(-1)!, text)));
    } catch (error) {
      throw invalid(`invalid value "${text}" for path variable "${fieldPath}": ${reasonOf(error)}`);
    }
    if (before !== undefined && !sameValue(fields.at(-1)!, before, leafValue(message, fields))) {
      throw invalid(`"${fieldPath}" is given both in the URL path and in the request body, with different values`);
    }
  }

  for (const key of new Set(query.keys())) {
    const fields = queryFields(binding, key);
    const leaf = fields.at(-1)!;
    const values = query.getAll(key);
    // A field mask is a list too: `update_mask=a&update_mask=b` reads as `update_mask=a,b`.
    const fieldMask = leaf.fieldKind === "message" && leaf.message.typeName === "google.protobuf.FieldMask";
    if (leaf.fieldKind !== "list" && !fieldMask && values.length > 1) {
      throw invalid(`query parameter "${key}" is given ${values.length} times but is not repeated`);
    }
    const json = leaf.fieldKind === "list" ? values.map((value) => jsonFromText(leaf, value)) : jsonFromText(leaf, values.join(","));
    try {
      merge(nestedJson(fields, json));
    } catch (error) {
      throw invalid(`invalid value for query parameter "${key}": ${reasonOf(error)}`);
    }
  }
  return message;
}

/** The fields a query parameter sets; throws when it names no field that the query may set. */
function queryFields(binding: HttpBinding, key: string): DescField[] {
  const unknown = (why: string) => invalid(`unknown query parameter "${key}": ${why}`);
  if (binding.body === "*") throw unknown("this method takes every field from the request body");
  const fields = resolveFieldPath(binding.method.input, key);
  if (!fields) throw unknown(`${binding.method.input.typeName} has no such field`);
  if (fields[0] === binding.bodyField) throw unknown(`"${binding.body}" comes from the request body`);
  for (const [fieldPath, bound] of binding.pathFields) {
    if (bound.length === fields.length && bound.every((field, index) => field === fields[index])) {
      throw unknown(`"${fieldPath}" comes from the URL path`);
    }
  }
  const problem = textLeafProblem(fields, true);
  if (problem) throw invalid(`query parameter "${key}" cannot be set from the URL: ${problem}`);
  return fields;
}

/** The value of the field at the path, or undefined when it (or a message on the way) is not set. */
function leafValue(message: Message, fields: readonly DescField[]): unknown {
  let current: ReflectMessage = reflect(fields[0]!.parent, message);
  for (const field of fields.slice(0, -1)) {
    if (!current.isSet(field)) return undefined;
    current = current.get(field) as ReflectMessage;
  }
  const leaf = fields.at(-1)!;
  return current.isSet(leaf) ? current.get(leaf) : undefined;
}

function sameValue(leaf: DescField, a: unknown, b: unknown): boolean {
  if (leaf.fieldKind === "message" && isReflectMessage(a) && isReflectMessage(b)) {
    return equals(leaf.message, a.message, b.message);
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(b);
  return a === b;
}
