import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logger.js";

export const requestIdHeader = "x-request-id";

/** The caller's request id when it sent a sane one, else a new one. */
export function requestIdOf(header: Headers | string | undefined): string {
  const given = typeof header === "string" || header === undefined ? header : header.get(requestIdHeader);
  return given && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
}

/**
 * Gives every call a request id (the caller's `x-request-id` when it sent a
 * sane one), echoes it in the response headers, and logs every failure with
 * it. Server faults are logged with their cause; the client sees only the code
 * and the request id to quote.
 */
export function createLoggingInterceptor(log: Logger): Interceptor {
  return (next) => async (request) => {
    const requestId = requestIdOf(request.header);
    try {
      const response = await next(request);
      response.header.set(requestIdHeader, requestId);
      return response;
    } catch (error) {
      const connectError = ConnectError.from(error);
      connectError.metadata.set(requestIdHeader, requestId);
      const serverFault = [Code.Internal, Code.Unknown, Code.DataLoss, Code.Unavailable].includes(connectError.code);
      const fields = {
        requestId,
        procedure: `${request.service.typeName}/${request.method.name}`,
        code: Code[connectError.code],
        error: connectError.rawMessage,
        ...(serverFault && { cause: String((connectError.cause as Error | undefined)?.stack ?? connectError.cause) }),
      };
      if (serverFault) log.error("request failed", fields);
      else log.info("request refused", fields);
      throw connectError;
    }
  };
}
