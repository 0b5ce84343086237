import type { DescField, DescMessage, DescMethod, JsonObject, JsonValue, Message } from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import { type FieldMask, FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { ReadMask } from "../../service/read-mask.js";

/**
 * Where a method's `read_mask` (AIP-157) applies in its REST response. The
 * service clears the fields the mask leaves out, but REST JSON emits implicit
 * fields, so a cleared `total_cents` would read as a real "0": the JSON of
 * each resource is cut down to the selected keys instead.
 */
export interface ReadMaskBinding {
  /** The request's `read_mask` field. */
  readonly maskField: Extract<DescField, { fieldKind: "message" }>;
  /** The message type the mask selects from. */
  readonly resource: DescMessage;
  /** The response fields holding a resource, or a list of them. */
  readonly resourceFields: readonly DescField[];
}

/**
 * The read mask binding of a method whose request has a FieldMask
 * `read_mask`; undefined for other methods. The resource is the
 * `response_body` field or, without one, each repeated message field of the
 * response (a List response, AIP-132), all of one type. Throws when the
 * response shows no such resource.
 */
export function readMaskBinding(method: DescMethod, responseField: DescField | undefined): ReadMaskBinding | undefined {
  const maskField = method.input.fields.find((field) => field.name === "read_mask");
  if (maskField?.fieldKind !== "message" || maskField.message.typeName !== FieldMaskSchema.typeName) return undefined;
  const resourceFields = responseField ? [responseField] : method.output.fields.filter((field) => field.fieldKind === "list" && field.listKind === "message");
  const types = new Set(resourceFields.map(messageOf));
  const [resource] = types;
  if (types.size === 1 && resource) return { maskField, resource, resourceFields };
  const found = responseField
    ? `response_body "${responseField.name}" is no message field`
    : `${method.output.typeName} has ${types.size === 0 ? "no repeated message field" : `repeated fields of ${types.size} message types`}; name the resource with response_body`;
  throw new Error(`${method.parent.typeName}.${method.name}: cannot tell which message read_mask selects from: ${found}`);
}

function messageOf(field: DescField): DescMessage | undefined {
  if (field.fieldKind === "message") return field.message;
  if (field.fieldKind === "list" && field.listKind === "message") return field.message;
  return undefined;
}

/** Cuts each resource in the response JSON (proto field names) down to what the request's read mask selects, in place. */
export function applyReadMask(binding: ReadMaskBinding, request: Message, response: JsonObject): void {
  // An unset read_mask reads as an empty one, which selects everything.
  const { message: fieldMask } = reflect(binding.maskField.parent, request).get(binding.maskField);
  const mask = ReadMask.parse(binding.resource, fieldMask as FieldMask);
  const prune = (resource: JsonValue) => (isJsonObject(resource) ? mask.applyToJson(resource) : resource);
  for (const { name } of binding.resourceFields) {
    const value = response[name];
    if (value !== undefined) response[name] = Array.isArray(value) ? value.map(prune) : prune(value);
  }
}

function isJsonObject(value: JsonValue): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
