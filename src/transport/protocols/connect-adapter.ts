import { Code, ConnectError, type ConnectRouter, type ConnectRouterOptions, createConnectRouter } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { errorFromJsonBytes, errorToJsonBytes, codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import {
  compressionBrotli,
  compressionGzip,
  type ConnectNodeAdapterOptions,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { Logger } from "../../logger.js";
import { clientGone } from "../connections/client-gone.js";
import { boundedError } from "./bounded-errors.js";

type NodeHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;

export interface ConnectAdapterOptions extends ConnectRouterOptions {
  routes(router: ConnectRouter): void;
  /** Serves every path that is no RPC. */
  fallback: NodeHandler;
  /** Longest deadline connect-node's own timer is set to; the deadline interceptor bounds the work. */
  maxTimeoutMs: number;
  log: Logger;
}

/**
 * connect-node's adapter (`connectNodeAdapter`, whose few lines this
 * replaces), changed where connect-node answers by itself, before any
 * interceptor runs:
 *
 * - Request bytes that are no valid protobuf (or hold invalid UTF-8) are
 *   refused by connect-node's deserializer as `internal` ("parse binary: …");
 *   they are the client's fault, so they answer INVALID_ARGUMENT (HTTP 400),
 *   as native gRPC does.
 * - Its refusals (malformed JSON naming an unknown key of any length) are
 *   bounded like every other error (see bounded-errors.ts).
 * - A deadline longer than `maxTimeoutMs` is accepted, and connect-node's
 *   timer set to `maxTimeoutMs` (a timer beyond 2^31 ms would fire at once).
 * - A client that leaves before its answer is logged at info ("client went
 *   away"), not as a failed handler with a stack trace.
 */
export function createConnectAdapter(options: ConnectAdapterOptions): NodeHandler {
  const router = createConnectRouter({ acceptCompression: compressions, ...options });
  options.routes(router);
  const handlers = new Map<string, UniversalHandler>(router.handlers.map((handler) => [handler.requestPath, handler]));
  const { log } = options;
  return (request, response) => {
    const handler = handlers.get(request.url?.split("?", 2)[0] ?? "");
    if (!handler) return options.fallback(request, response);
    const universalRequest = universalRequestFromNodeRequest(request, response, undefined, undefined);
    capTimeouts(universalRequest, options.maxTimeoutMs);
    handler(universalRequest)
      .then((answer) => clientErrorsAnswered(answer, handler.method.input.typeName))
      .then((answer) => universalResponseToNodeResponse(answer, response))
      .catch((reason: unknown) => {
        const procedure = `${handler.service.typeName}/${handler.method.name}`;
        if (clientGone(request, response)) return log.info("client went away", { procedure, error: String(reason) });
        log.error("handler failed", { procedure, cause: String((reason as Error | undefined)?.stack ?? reason) });
      });
  };
}

/** Caps the deadline headers of every protocol at `maxTimeoutMs`. */
function capTimeouts(request: UniversalServerRequest, maxTimeoutMs: number): void {
  const connectTimeout = request.header.get("connect-timeout-ms");
  if (connectTimeout !== null && /^\d{1,10}$/.test(connectTimeout) && Number(connectTimeout) > maxTimeoutMs) {
    request.header.set("connect-timeout-ms", String(maxTimeoutMs));
  }
  const grpcTimeout = /^(\d{1,8})([HMSmun])$/.exec(request.header.get("grpc-timeout") ?? "");
  if (grpcTimeout && Number(grpcTimeout[1]) * grpcTimeoutUnitMs[grpcTimeout[2]!]! > maxTimeoutMs) {
    request.header.set("grpc-timeout", `${maxTimeoutMs}m`);
  }
}

const compressions = [compressionGzip, compressionBrotli];
/** connect-node's own refusals are at most about the size of the request. */
const maxCompressedErrorBytes = 64 * 1024 * 1024;

const grpcTimeoutUnitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * An error connect-node answered a request of type `input` with, as the
 * service answers it: the client's malformed bytes are INVALID_ARGUMENT (in
 * native gRPC's words), every error bounded.
 */
function answerable(error: ConnectError, input: string): ConnectError {
  const malformed = error.code === Code.Internal && error.rawMessage.startsWith("parse binary: ");
  if (!malformed) return boundedError(error);
  const refusal = new ConnectError(`malformed ${input}: ${error.rawMessage.slice("parse binary: ".length)}`, Code.InvalidArgument);
  error.metadata.forEach((value, key) => refusal.metadata.set(key, value));
  return boundedError(refusal);
}

/**
 * The response with the error it carries, if any, made `answerable`. Errors
 * that come from the interceptor chain are already bounded and stay as
 * they are; only connect-node's own refusals change.
 */
async function clientErrorsAnswered(answer: UniversalServerResponse, input: string): Promise<UniversalServerResponse> {
  const contentType = answer.header?.get("content-type") ?? "";
  if (answer.trailer?.has("grpc-status")) {
    // gRPC: an error before any message is already in the trailers.
    const error = findTrailerError(answer.trailer);
    const answered = error && answerable(error, input);
    if (answered && answered !== error) {
      for (const key of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) answer.trailer.delete(key);
      setTrailerStatus(answer.trailer, answered);
    }
    return answer;
  }
  if (contentType.startsWith("application/grpc-web")) return grpcWebErrorAnswered(answer, input);
  if (answer.status >= 400 && contentType === "application/json") {
    // Connect unary: the error is the JSON body, compressed when the client accepts it.
    const encoded = await bodyBytes(answer.body);
    const compression = compressions.find(({ name }) => name === answer.header?.get("content-encoding"));
    const body = compression ? await compression.decompress(encoded, maxCompressedErrorBytes) : encoded;
    const error = errorFromJsonBytes(body, undefined, new ConnectError("", Code.Unknown));
    const answered = answerable(error, input);
    if (answered === error) return { ...answer, body: single(encoded) };
    const bytes = errorToJsonBytes(answered, {});
    const header = new Headers(answer.header);
    header.delete("content-encoding");
    header.set("content-length", String(bytes.byteLength));
    return { ...answer, status: codeToHttpStatus(answered.code), header, body: single(bytes) };
  }
  return answer;
}

/** gRPC-Web: an error before any message is a lone trailer frame, the body's first chunk. */
async function grpcWebErrorAnswered(answer: UniversalServerResponse, input: string): Promise<UniversalServerResponse> {
  const body = answer.body;
  if (!body || !(Symbol.asyncIterator in body)) return answer;
  const chunks = body[Symbol.asyncIterator]();
  const first = await chunks.next();
  if (first.done) return answer;
  const chunk = first.value;
  let replaced = chunk;
  if (chunk[0] === trailerFlag && chunk.length === 5 + new DataView(chunk.buffer, chunk.byteOffset + 1, 4).getUint32(0)) {
    const trailer = trailerParse(chunk.subarray(5));
    const error = findTrailerError(trailer);
    const answered = error && answerable(error, input);
    if (answered && answered !== error) {
      for (const key of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) trailer.delete(key);
      setTrailerStatus(trailer, answered);
      const serialized = trailerSerialize(trailer);
      replaced = new Uint8Array(5 + serialized.byteLength);
      replaced[0] = trailerFlag;
      new DataView(replaced.buffer).setUint32(1, serialized.byteLength);
      replaced.set(serialized, 5);
    }
  }
  return {
    ...answer,
    body: (async function* () {
      yield replaced;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
    })(),
  };
}

async function bodyBytes(body: UniversalServerResponse["body"]): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body;
  if (!body || !(Symbol.asyncIterator in body)) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
