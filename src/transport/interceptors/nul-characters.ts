import { type DescMessage, type MessageShape, ScalarType } from "@bufbuild/protobuf";
import { type Path, reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { ValidationError, Violation, violationsToProto } from "@bufbuild/protovalidate";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

const ruleId = "string.no_nul";
const ruleMessage = "must not contain the NUL character (U+0000)";

/** The violation of a string holding NUL, or of such a string anywhere in a message, at `path`. */
function checkValue(value: unknown, kind: "string" | "message" | "other", path: Path): Violation | undefined {
  if (kind === "message") return findNul(value as ReflectMessage, path);
  return kind === "string" && (value as string).includes("\0") ? new Violation(ruleMessage, ruleId, path, [], false) : undefined;
}

/** The first string in `message` that holds NUL, at any depth, as a violation naming its field. */
function findNul(message: ReflectMessage, parent: Path): Violation | undefined {
  for (const field of message.fields) {
    if (!message.isSet(field)) continue;
    const path: Path = [...parent, field];
    let found: Violation | undefined;
    switch (field.fieldKind) {
      case "scalar":
        found = checkValue(message.get(field), field.scalar === ScalarType.STRING ? "string" : "other", path);
        break;
      case "message":
        found = checkValue(message.get(field), "message", path);
        break;
      case "list": {
        const kind = field.listKind === "message" ? "message" : field.scalar === ScalarType.STRING ? "string" : "other";
        let index = 0;
        for (const item of message.get(field)) {
          found = checkValue(item, kind, [...path, { kind: "list_sub", index: index++ }]);
          if (found) break;
        }
        break;
      }
      case "map": {
        const kind = field.mapKind === "message" ? "message" : field.scalar === ScalarType.STRING ? "string" : "other";
        for (const [key, value] of message.get(field)) {
          // An offending key stays out of the path, and so out of the error message.
          found =
            typeof key === "string" && key.includes("\0")
              ? new Violation(ruleMessage, ruleId, path, [], true)
              : checkValue(value, kind, [...path, { kind: "map_sub", key: key as string | number | bigint | boolean }]);
          if (found) break;
        }
        break;
      }
      case "enum":
        break;
    }
    if (found) return found;
  }
  return undefined;
}

/**
 * Whether a string in `message` holds NUL, at any depth: the check every
 * request passes, on the message's own properties, without the reflection
 * findNul needs to name the field (a reflected message per message costs).
 */
function holdsNul(schema: DescMessage, message: Record<string, unknown>): boolean {
  for (const field of schema.fields) {
    let value: unknown;
    if (field.oneof) {
      const oneof = message[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
      if (oneof?.case !== field.localName) continue;
      value = oneof.value;
    } else {
      value = message[field.localName];
    }
    if (value === undefined || value === null) continue;
    switch (field.fieldKind) {
      case "scalar":
        if (field.scalar === ScalarType.STRING && (value as string).includes("\0")) return true;
        break;
      case "message":
        // Wrapper types (google.protobuf.StringValue…) come unboxed, as the value itself.
        if (typeof value === "string" ? value.includes("\0") : typeof value === "object" && holdsNul(field.message, value as Record<string, unknown>)) {
          return true;
        }
        break;
      case "list":
        for (const item of value as unknown[]) {
          if (typeof item === "string" ? item.includes("\0") : typeof item === "object" && item !== null && holdsNul(field.message!, item as Record<string, unknown>)) {
            return true;
          }
        }
        break;
      case "map":
        for (const key in value as Record<string, unknown>) {
          if (key.includes("\0")) return true;
          const item = (value as Record<string, unknown>)[key];
          if (typeof item === "string" ? item.includes("\0") : field.mapKind === "message" && holdsNul(field.message, item as Record<string, unknown>)) {
            return true;
          }
        }
        break;
      case "enum":
        break;
    }
  }
  return false;
}

function refuseNul(schema: DescMessage, message: MessageShape<DescMessage>): void {
  if (!holdsNul(schema, message as unknown as Record<string, unknown>)) return;
  const found = findNul(reflect(schema, message, false), []);
  if (!found) return;
  const [violations, desc] = violationsToProto([found]);
  throw new ConnectError(new ValidationError([found]).message, Code.InvalidArgument, undefined, [{ desc, value: violations }]);
}

/**
 * Refuses a request holding the NUL character, which PostgreSQL's text and
 * jsonb cannot store (the driver's error would be a 500), in any string
 * field, list item, map key or value, at any depth (well-known types such as
 * google.protobuf.Struct included: they are messages too). Driven by the
 * request's descriptor, so no field needs a rule of its own; the refusal has
 * the shape of a protovalidate one (INVALID_ARGUMENT, a
 * buf.validate.Violations detail naming the field). Streamed requests are
 * checked message by message. Lone surrogates, the other text PostgreSQL
 * cannot hold, never get this far: protobuf-es refuses them in JSON, and
 * binary and percent-decoding turn them into U+FFFD.
 */
export const nulCharacterInterceptor: Interceptor = (next) => (request) => {
  if (!request.stream) {
    refuseNul(request.method.input, request.message);
    return next(request);
  }
  const messages = request.message;
  return next({
    ...request,
    message: (async function* () {
      for await (const message of messages) {
        refuseNul(request.method.input, message);
        yield message;
      }
    })(),
  });
};
