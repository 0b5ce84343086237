import { createRegistry, type JsonObject, type JsonValue, type Message, toJson } from "@bufbuild/protobuf";
import { anyPack, AnySchema } from "@bufbuild/protobuf/wkt";
import { type FieldPath, type Violations, ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { type Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";
import { applyReadMask } from "./read-mask.js";
import type { HttpBinding } from "./routes.js";

/** Proto field names (snake_case), int64 as strings, and every field present, as the reference contract reads. */
const jsonOptions = { useProtoFieldName: true, alwaysEmitImplicit: true } as const;

/**
 * The response body of a successful call: the whole response, or its
 * `response_body` field (null when unset), with only the fields the request's
 * read mask selects.
 */
export function responseJson(binding: HttpBinding, request: Message, response: Message): JsonValue {
  const json = toJson(binding.method.output, response, jsonOptions) as JsonObject;
  if (binding.readMask) applyReadMask(binding.readMask, request, json);
  return binding.responseField ? (json[binding.responseField.name] ?? null) : json;
}

/** `{"error": "invalid_argument", "message": "...", "details": [...]}` on every failed REST call. */
export interface ErrorBody {
  readonly error: string;
  readonly message: string;
  readonly details: JsonValue[];
}

/** An error of the HTTP layer whose status is not the code's standard one (405, 413, 415). */
export class HttpStatusError extends ConnectError {
  constructor(
    readonly status: number,
    message: string,
    code: Code,
    headers?: HeadersInit,
  ) {
    super(message, code, headers);
  }
}

/** The HTTP status for an error: the standard gRPC mapping unless the HTTP layer chose another. */
export function httpStatusOf(error: ConnectError): number {
  // Not `instanceof`: ConnectError's Symbol.hasInstance accepts any ConnectError for every subclass.
  const { status } = error as Partial<HttpStatusError>;
  return typeof status === "number" ? status : codeToHttpStatus(error.code);
}

/**
 * Field violations of buf.validate become `{"field", "rule", "message"}`
 * entries; any other detail is rendered as google.protobuf.Any JSON
 * (`{"@type": "type.googleapis.com/…", …}`).
 */
export function errorBody(error: ConnectError): ErrorBody {
  const registry = createRegistry(ViolationsSchema, ...error.details.flatMap((detail) => ("desc" in detail ? [detail.desc] : [])));
  const details = error.findDetails(registry).flatMap((detail): JsonValue[] => {
    if (detail.$typeName === ViolationsSchema.typeName) {
      return (detail as Violations).violations.map((violation) => ({
        field: fieldPathString(violation.field),
        rule: violation.ruleId,
        message: violation.message,
        ...(violation.forKey && { for_key: true }),
      }));
    }
    const desc = registry.getMessage(detail.$typeName)!;
    return [toJson(AnySchema, anyPack(desc, detail), { registry, useProtoFieldName: true })];
  });
  return { error: codeToString(error.code), message: error.rawMessage, details };
}

/** `items[0].quantity`, `metadata["gift"]`: the path as a reader would write it. */
function fieldPathString(path: FieldPath | undefined): string {
  return (path?.elements ?? [])
    .map((element) => {
      const { subscript } = element;
      const key =
        subscript.case === undefined ? "" : `[${subscript.case === "stringKey" ? JSON.stringify(subscript.value) : String(subscript.value)}]`;
      return element.fieldName + key;
    })
    .join(".");
}
