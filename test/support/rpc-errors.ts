import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { type Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import type { ServiceError } from "@grpc/grpc-js";

/**
 * The status a @grpc/grpc-js call failed with, as a ConnectError, so both
 * kinds of client are checked with the same assertions: the message exactly
 * as grpc-js hands it to its caller, and the details decoded from
 * `grpc-status-details-bin`.
 */
export function connectErrorOfGrpcJs(error: ServiceError): ConnectError {
  const converted = new ConnectError(error.details, error.code as number as Code);
  const [statusDetails] = error.metadata.get("grpc-status-details-bin");
  if (Buffer.isBuffer(statusDetails)) {
    const trailer = new Headers({ "grpc-status-details-bin": statusDetails.toString("base64") });
    converted.details = findTrailerError(trailer)?.details ?? [];
  }
  return converted;
}

/** The fields named by the buf.validate.Violations detail of an error, as dotted paths ("items.quantity"). */
export function violatedFields(error: ConnectError): string[] {
  return error
    .findDetails(ViolationsSchema)
    .flatMap((violations) => violations.violations)
    .map((violation) => (violation.field?.elements ?? []).map((element) => element.fieldName).join("."));
}

/** The error a call was refused with; fails when the call succeeds. */
export async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call succeeded");
}
