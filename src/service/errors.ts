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
  unstorable_text: [Code.InvalidArgument, "the request holds text that cannot be stored (a NUL character or invalid Unicode)"],
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

/** What the outage guard knows of the database, and tells back (the readiness state, in transport). */
export interface DatabaseAvailability {
  /** Whether the database is known to be unreachable now. */
  readonly databaseUnavailable: boolean;
  /** Records that a call could not reach the database. */
  databaseFailed(): void;
}

/**
 * Fails calls to `servicesNeedingDatabase` with UNAVAILABLE at once while the
 * database is known to be unreachable, instead of letting them queue behind
 * the pool's connection attempts (postgres.js puts no limit on that wait) until
 * their deadline, and reports every call that could not reach it. Recovery
 * is the availability's business: it probes the database while it is down.
 * An interceptor rather than a guard in storage: statements there are
 * postgres.js templates with no common entry, while at the call's entry a
 * refusal comes before anything ran (idempotency claims included) and spares
 * services that need no database (health, reflection). Sits inside the error
 * mapping, to see the driver's own errors.
 */
export function createDatabaseOutageInterceptor(availability: DatabaseAvailability, servicesNeedingDatabase: ReadonlySet<string>): Interceptor {
  const [code, message] = databaseFailures.unavailable;
  return (next) => async (request) => {
    if (!servicesNeedingDatabase.has(request.service.typeName)) return next(request);
    if (availability.databaseUnavailable) throw new ConnectError(message, code);
    try {
      return await next(request);
    } catch (error) {
      if (classifyDatabaseError(error) === "unavailable") availability.databaseFailed();
      throw error;
    }
  };
}
