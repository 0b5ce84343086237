import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { DomainError, type DomainErrorReason } from "../domain/errors.js";
import { classifyDatabaseError, type DatabaseFailure } from "../storage/database.js";

const codeOf: Record<DomainErrorReason, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  failed_precondition: Code.FailedPrecondition,
  conflict: Code.Aborted,
};

/** Domain of the google.rpc.ErrorInfo details this service attaches. */
const errorDomain = "cart.commerce";

/**
 * An INVALID_ARGUMENT for a rule the proto cannot declare (a page token, an
 * update_mask path), carrying the same buf.validate.Violations detail as
 * proto validation, so clients find the offending field in one place.
 */
export function invalidField(field: string, ruleId: string, message: string): ConnectError {
  const violations = create(ViolationsSchema, {
    violations: [{ field: { elements: field.split(".").map((fieldName) => ({ fieldName })) }, ruleId, message }],
  });
  return new ConnectError(`${field}: ${message}`, Code.InvalidArgument, undefined, [{ desc: ViolationsSchema, value: violations }]);
}

export function productNotFound(id: string): ConnectError {
  return new ConnectError(`product ${id} does not exist`, Code.NotFound);
}

const databaseFailures: Record<DatabaseFailure, [Code, string]> = {
  conflict: [Code.Aborted, "the cart was changed concurrently; retry the request"],
  lock_timeout: [Code.Aborted, "the cart is busy with other changes; retry the request"],
  statement_timeout: [Code.DeadlineExceeded, "the database took too long to answer"],
  unavailable: [Code.Unavailable, "the database is unavailable; retry later"],
};

/**
 * Turns refusals of domain rules into ConnectErrors with the matching code,
 * known database failures into retryable codes, and anything unexpected into
 * an Internal error whose message reveals no internals (the cause is logged by
 * the logging interceptor).
 */
export const errorMappingInterceptor: Interceptor = (next) => async (request) => {
  try {
    return await next(request);
  } catch (error) {
    if (error instanceof ConnectError) throw error;
    if (error instanceof DomainError) {
      const info = create(ErrorInfoSchema, {
        reason: error.reason.toUpperCase(),
        domain: errorDomain,
        metadata: error.facts,
      });
      throw new ConnectError(error.message, codeOf[error.reason], undefined, [{ desc: ErrorInfoSchema, value: info }]);
    }
    const failure = classifyDatabaseError(error);
    if (failure) {
      const [code, message] = databaseFailures[failure];
      throw new ConnectError(message, code, undefined, undefined, error);
    }
    throw new ConnectError("internal error", Code.Internal, undefined, undefined, error);
  }
};
