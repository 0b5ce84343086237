import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { DomainError, type DomainErrorReason } from "../domain/errors.js";

const codeOf: Record<DomainErrorReason, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  failed_precondition: Code.FailedPrecondition,
};

export function cartNotFound(id: string): ConnectError {
  return new ConnectError(`cart ${id} does not exist`, Code.NotFound);
}

export function productNotFound(id: string): ConnectError {
  return new ConnectError(`product ${id} does not exist`, Code.NotFound);
}

/**
 * Turns refusals of domain rules into ConnectErrors with the matching code,
 * and anything unexpected into an Internal error whose message reveals no
 * internals (the cause is logged by the logging interceptor).
 */
export const errorMappingInterceptor: Interceptor = (next) => async (request) => {
  try {
    return await next(request);
  } catch (error) {
    if (error instanceof ConnectError) throw error;
    if (error instanceof DomainError) throw new ConnectError(error.message, codeOf[error.reason]);
    throw new ConnectError("internal error", Code.Internal, undefined, undefined, error);
  }
};
