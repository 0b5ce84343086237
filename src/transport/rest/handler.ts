import { isUtf8 } from "node:buffer";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import type { Logger } from "../../logger.js";
import type { Metrics } from "../../metrics.js";
import { requestIdHeader, requestIdOf } from "../interceptors/telemetry.js";
import { clientGone } from "../connections/client-gone.js";
import { boundedError } from "../protocols/bounded-errors.js";
import type { UnaryInvoker, UnaryMethodSpec } from "../protocols/services.js";
import { MalformedPathError } from "./path-template.js";
import { decodeRequest } from "./request.js";
import { errorBody, HttpStatusError, httpStatusOf, responseJson } from "./response.js";
import { type HttpBinding, httpBindings, RouteTable } from "./routes.js";

export interface RestHandlerOptions {
  /** Runs each call through the same interceptors and implementation as gRPC and Connect. */
  readonly invoker: UnaryInvoker;
  /** Largest accepted request body, as for the other protocols. */
  readonly readMaxBytes: number;
  /** The OpenAPI document (JSON text) served at GET /openapi.json. */
  readonly openApiDocument: string;
  /** Served at GET /metrics, without authentication, in Prometheus' text format. */
  readonly metrics: Metrics;
  readonly log: Logger;
}

export const openApiPath = "/openapi.json";
export const metricsPath = "/metrics";

/**
 * The query parameters, whose percent-encoded bytes must be UTF-8 as the body
 * must: URLSearchParams would turn other bytes into U+FFFD, silently changing
 * the value (path variables with such bytes are refused too).
 */
function queryOf(rawQuery: string): URLSearchParams {
  // Runs of %XX become their bytes; the text between them (a lone "%" included) stays as it is.
  const parts = rawQuery.split(/((?:%[0-9A-Fa-f]{2})+)/);
  const bytes = Buffer.concat(parts.map((part, index) => (index % 2 === 1 ? Buffer.from(part.replaceAll("%", ""), "hex") : Buffer.from(part))));
  if (!isUtf8(bytes)) {
    throw new ConnectError("the query string is not valid UTF-8 once percent-decoded", Code.InvalidArgument);
  }
  return new URLSearchParams(rawQuery);
}

/** A request handler for HTTP/1.1 and HTTP/2 alike, as the Connect adapter takes its fallback. */
export type NodeHandlerFn = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
export type NodeServerRequest = Parameters<NodeHandlerFn>[0];
export type NodeServerResponse = Parameters<NodeHandlerFn>[1];

type RestRoute = HttpBinding & { readonly spec: UnaryMethodSpec };

/**
 * Serves the `google.api.http` bindings of every registered unary method as
 * REST/JSON, and the OpenAPI document describing them. Meant as the fallback
 * of the Connect adapter: Connect, gRPC and gRPC-Web keep their own paths.
 */
export function createRestHandler(options: RestHandlerOptions): NodeHandlerFn {
  const routes = new RouteTable<RestRoute>(
    [...options.invoker.methods().values()].flatMap((spec) => httpBindings(spec.method).map((binding) => ({ ...binding, spec }))),
  );
  const { log } = options;

  async function handle(request: NodeServerRequest, response: NodeServerResponse): Promise<void> {
    const httpMethod = request.method ?? "GET";
    const url = request.url ?? "/";
    const queryStart = url.indexOf("?");
    const path = queryStart < 0 ? url : url.slice(0, queryStart);
    const rawQuery = queryStart < 0 ? "" : url.slice(queryStart + 1);

    if (path === openApiPath) {
      if (httpMethod !== "GET") throw methodNotAllowed(["GET"]);
      return send(response, 200, options.openApiDocument, new Headers());
    }
    if (path === metricsPath) {
      if (httpMethod !== "GET") throw methodNotAllowed(["GET"]);
      return send(response, 200, await options.metrics.exposition(), new Headers(), options.metrics.contentType);
    }
    const match = matchRoute(routes, httpMethod, path);
    if (match.kind === "not-found") throw new ConnectError(`no REST route matches ${httpMethod} ${path}`, Code.NotFound);
    if (match.kind === "method-not-allowed") throw methodNotAllowed(match.allow);

    const { binding, variables } = match;
    const body = await readBody(request, options.readMaxBytes);
    if (body !== "" && binding.body !== "" && !isJson(request.headers["content-type"])) {
      throw new HttpStatusError(415, "the request body must be JSON (Content-Type: application/json)", Code.InvalidArgument);
    }
    const input = decodeRequest(binding, variables, queryOf(rawQuery), body);
    const abort = new AbortController();
    response.once("close", () => abort.abort());
    const result = await options.invoker.invoke(binding.spec, input, {
      protocolName: "rest",
      requestMethod: httpMethod,
      url: `http://${request.headers.host ?? request.headers[":authority"] ?? "localhost"}${url}`,
      requestHeader: headersOf(request),
      signal: abort.signal,
    });
    // Plain HTTP responses have no trailers: what interceptors put there travels as headers.
    const headers = new Headers(result.header);
    result.trailer.forEach((value, key) => headers.append(key, value));
    send(response, binding.successStatus, JSON.stringify(responseJson(binding, input, result.message)), headers);
  }

  return (request, response) => {
    handle(request, response)
      .catch((reason: unknown) => {
        // Nobody is left to answer: the client closed its connection before sending the whole request.
        if (clientGone(request, response)) {
          log.info("client went away", { protocol: "rest", method: request.method, url: request.url, error: String(reason) });
          return;
        }
        if (!(reason instanceof ConnectError)) {
          log.error("REST transcoding failed", { method: request.method, url: request.url, cause: describe(reason) });
        }
        const error = boundedError(reason instanceof ConnectError ? reason : new ConnectError("internal error", Code.Internal));
        // Refusals before the interceptor chain (no route, bad JSON, too large) get a request id and a log line too.
        if (!error.metadata.has(requestIdHeader)) {
          const requestId = requestIdOf(request.headers[requestIdHeader] as string | undefined);
          error.metadata.set(requestIdHeader, requestId);
          log.info("request refused", {
            requestId,
            protocol: "rest",
            method: request.method,
            url: request.url,
            code: Code[error.code],
            error: error.rawMessage,
          });
        }
        send(response, httpStatusOf(error), JSON.stringify(errorBody(error)), error.metadata);
      })
      .catch((reason: unknown) => {
        log.error("REST error response failed", { method: request.method, url: request.url, cause: describe(reason) });
        response.destroy();
      });
  };
}

function describe(reason: unknown): string {
  return String((reason as Error | undefined)?.stack ?? reason);
}

function matchRoute(routes: RouteTable<RestRoute>, httpMethod: string, path: string) {
  try {
    return routes.match(httpMethod, path);
  } catch (error) {
    if (error instanceof MalformedPathError) throw new ConnectError(error.message, Code.InvalidArgument);
    throw error;
  }
}

function methodNotAllowed(allow: readonly string[]): HttpStatusError {
  return new HttpStatusError(405, `this path accepts only ${allow.join(", ")}`, Code.Unimplemented, { allow: allow.join(", ") });
}

function isJson(contentType: string | undefined): boolean {
  return /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i.test(contentType ?? "");
}

export function headersOf(request: NodeServerRequest): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.startsWith(":") || value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  return headers;
}

/**
 * Reads the whole body as UTF-8, refusing more than `limit` bytes with 413.
 * The rest of an oversized body is drained, not buffered, so that the error
 * response still reaches the client.
 */
export function readBody(request: NodeServerRequest, limit: number): Promise<string> {
  const tooLarge = () =>
    new HttpStatusError(413, `the request body exceeds the limit of ${limit} bytes`, Code.ResourceExhausted);
  if (Number(request.headers["content-length"] ?? 0) > limit) {
    request.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      request.off("data", onData);
      request.off("end", onEnd);
      request.resume();
      reject(tooLarge());
    };
    const onEnd = () => {
      try {
        resolve(new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks)));
      } catch {
        reject(new ConnectError("the request body is not valid UTF-8", Code.InvalidArgument));
      }
    };
    request.on("data", onData);
    request.once("end", onEnd);
    request.once("error", reject);
  });
}

function send(response: NodeServerResponse, status: number, payload: string, headers: Headers, contentType = "application/json"): void {
  const fields: Record<string, string> = {};
  headers.forEach((value, key) => {
    fields[key] = value;
  });
  response.writeHead(status, {
    ...fields,
    "content-type": contentType,
    "content-length": String(Buffer.byteLength(payload)),
  });
  response.end(payload);
}
