import { create, type DescMessage, type Message, toBinary } from "@bufbuild/protobuf";
import { type Violation, ViolationSchema, type Violations, ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { ConnectError } from "@connectrpc/connect";

/**
 * The largest error message sent, in UTF-8 bytes. gRPC sends it twice, in
 * `grpc-message` (percent-encoded) and in `grpc-status-details-bin`
 * (base64), and peers refuse trailers over 8 KB (@grpc/grpc-js) or 16 KB.
 */
export const maxErrorMessageBytes = 1024;
/** The largest total of an error's details (buf.validate.Violations, google.rpc.ErrorInfo, …), encoded. */
export const maxErrorDetailsBytes = 2048;
/** A violation larger than this, encoded, has its message and map keys shortened. */
const maxViolationBytes = 512;

/** `text` cut to at most `maxBytes` UTF-8 bytes, saying how much was left out. */
export function truncateText(text: string, maxBytes: number): string {
  // Three bytes at most per UTF-16 unit: short strings need no counting.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return text;
  const suffixRoom = 40;
  // A cut through a character leaves U+FFFD, dropped.
  const kept = bytes.subarray(0, maxBytes - suffixRoom).toString("utf8").replace(/\uFFFD+$/, "");
  return `${kept}… (${bytes.length - Buffer.byteLength(kept)} more bytes)`;
}

type Detail = ConnectError["details"][number];

function encodedSize(detail: Detail): number {
  if (!("desc" in detail)) return detail.value.byteLength;
  return toBinary(detail.desc, create(detail.desc as DescMessage, detail.value as Message)).byteLength;
}

/** A violation with its message and map keys shortened when it is large. */
function shortenedViolation(violation: Violation): Violation {
  if (toBinary(ViolationSchema, violation).byteLength <= maxViolationBytes) return violation;
  const elements = (violation.field?.elements ?? []).map((element) => {
    const { subscript } = element;
    if (subscript.case !== "stringKey") return element;
    return { ...element, subscript: { case: "stringKey" as const, value: truncateText(subscript.value, 64) } };
  });
  return create(ViolationSchema, {
    ...violation,
    message: truncateText(violation.message, 200),
    field: violation.field && { ...violation.field, elements },
  });
}

/**
 * The error as it may be sent: its message at most `maxErrorMessageBytes`,
 * and its details at most `maxErrorDetailsBytes` together, keeping the
 * first field violations (each shortened when large) and dropping the rest.
 * Whatever a client sent, the answer (and the log line) stays a few KB.
 * Returns `error` itself when it is within bounds.
 */
export function boundedError(error: ConnectError): ConnectError {
  const message = truncateText(error.rawMessage, maxErrorMessageBytes);
  let changed = message !== error.rawMessage;
  let budget = maxErrorDetailsBytes;
  const details: Detail[] = [];
  for (const detail of error.details) {
    if ("desc" in detail && detail.desc.typeName === ViolationsSchema.typeName) {
      const violations: Violation[] = [];
      for (const original of create(ViolationsSchema, detail.value as Violations).violations) {
        const violation = shortenedViolation(original);
        const size = toBinary(ViolationSchema, violation).byteLength + 4;
        changed ||= violation !== original;
        if (size > budget) {
          changed = true;
          break;
        }
        violations.push(violation);
        budget -= size;
      }
      details.push({ desc: ViolationsSchema, value: create(ViolationsSchema, { violations }) });
      continue;
    }
    const size = encodedSize(detail);
    if (size > budget) {
      changed = true;
      continue;
    }
    details.push(detail);
    budget -= size;
  }
  if (!changed) return error;
  const bounded = new ConnectError(message, error.code, error.metadata, undefined, error.cause);
  bounded.details = details;
  return bounded;
}
