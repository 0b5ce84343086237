import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor, type StreamRequest, type UnaryRequest } from "@connectrpc/connect";
import type { Logger } from "../../logger.js";
import type { Metrics } from "../../metrics.js";
import { replayedResponseKey } from "../../service/idempotency.js";
import { principalKey } from "../../service/principal.js";
import { boundedError } from "../protocols/bounded-errors.js";
import { protocolKey } from "../protocols/services.js";

export const requestIdHeader = "x-request-id";

/** The caller's request id when it sent a sane one, else a new one. */
export function requestIdOf(header: Headers | string | undefined): string {
  const given = typeof header === "string" || header === undefined ? header : header.get(requestIdHeader);
  return given && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
}

/**
 * The protocol a call came in on. The transports that decode calls
 * themselves say so in the context; on connect-node, the content type is
 * what chose the protocol (none: a Connect GET).
 */
function protocolOf(request: UnaryRequest | StreamRequest): string {
  const declared = request.contextValues.get(protocolKey);
  if (declared !== undefined) return declared;
  const contentType = request.header.get("content-type") ?? "";
  if (contentType.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** Codes that mean the service failed, rather than that it refused the request. */
const serverFaults = new Set([Code.Internal, Code.Unknown, Code.DataLoss, Code.Unavailable]);

/**
 * Gives every call a request id (the caller's `x-request-id` when it sent a
 * sane one) and echoes it in the response headers; logs one line per call
 * (protocol, procedure, code, duration, request id, the caller's subject,
 * never its token) and records the call's metrics. Server faults are logged
 * with their cause; the client sees only the code and the request id to quote.
 * Outermost in the chain: the caller is known only once `next` is over.
 */
export function createTelemetryInterceptor(log: Logger, metrics: Metrics): Interceptor {
  return (next) => async (request) => {
    // gRPC's own services (health probes, reflection) would drown the service's calls, refusals included:
    // load balancers poll health, for unknown service names too. Their faults still log at error.
    const quiet = request.service.typeName.startsWith("grpc.");
    const startedAt = performance.now();
    const requestId = requestIdOf(request.header);
    const protocol = protocolOf(request);
    const rpc = metrics.rpc(request.service.typeName, request.method.name, protocol);
    rpc.started();
    /** Records the call's metrics; the fields of its log line. */
    const finished = (code: string) => {
      const durationMs = performance.now() - startedAt;
      rpc.finished(code, durationMs / 1000);
      return () => ({
        requestId,
        protocol,
        procedure: `${request.service.typeName}/${request.method.name}`,
        code,
        durationMs: Math.round(durationMs * 1000) / 1000,
        principal: request.contextValues.get(principalKey)?.subject,
      });
    };
    try {
      const response = await next(request);
      response.header.set(requestIdHeader, requestId);
      const replayed = request.contextValues.get(replayedResponseKey) !== undefined;
      if (replayed) rpc.replayed();
      const fields = finished("OK");
      const level = quiet ? "debug" : "info";
      // The line's fields are made only when it is written: health probes log at debug, mostly off.
      if (log.enabled?.(level) ?? true) log[level]("request served", { ...fields(), ...(replayed && { replayed }) });
      return response;
    } catch (error) {
      // Bounded here, outermost, for every protocol: whatever the request held, the answer and the log line stay small.
      const connectError = boundedError(ConnectError.from(error));
      connectError.metadata.set(requestIdHeader, requestId);
      // A fault code without a cause is a deliberate refusal, such as the one while draining.
      const serverFault = serverFaults.has(connectError.code) && connectError.cause !== undefined;
      const fields = {
        ...finished(Code[connectError.code])(),
        error: connectError.rawMessage,
        ...(serverFault && { cause: String((connectError.cause as Error).stack ?? connectError.cause) }),
      };
      if (serverFault) log.error("request failed", fields);
      else log[quiet ? "debug" : "info"]("request refused", fields);
      throw connectError;
    }
  };
}
