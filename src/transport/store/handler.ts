import { create, type DescMessage, type DescMethodUnary, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { Logger } from "../../logger.js";
import type { DatabaseAvailability } from "../../service/errors.js";
import { principalKey, type Principal } from "../../service/principal.js";
import { clientGone } from "../connections/client-gone.js";
import { requestIdHeader, requestIdOf } from "../interceptors/telemetry.js";
import { createCallContext, type UnaryInvoker } from "../protocols/services.js";
import { headersOf, type NodeHandlerFn, type NodeServerRequest, type NodeServerResponse, readBody } from "../rest/handler.js";
import type { KeyChannelChoice } from "../../domain/publishable-key.js";
import { asStoreError, type CallSubject, StoreError } from "./errors.js";
import { matchStoreRoute, type StoreRequest } from "./routes.js";

/** What the storefront surface needs of publishable keys (the service's key directory). */
export interface PublishableKeyResolver {
  resolve(token: string): Promise<{ status: "valid"; key: { readonly salesChannelIds: readonly string[] } } | { status: "unknown" | "revoked" }>;
  salesChannelForNewCart(key: { readonly salesChannelIds: readonly string[] }, requested: string): KeyChannelChoice;
}

export interface StoreHandlerOptions {
  /** Runs each call through the same interceptors and implementation as every other protocol. */
  readonly invoker: UnaryInvoker;
  readonly readMaxBytes: number;
  /** Checks a bearer token; a token it refuses makes the caller anonymous here, as in Medusa. */
  readonly verifyToken: (token: string) => Promise<Principal>;
  readonly publishableKeys: PublishableKeyResolver;
  /** Whether the database is known to be down (the readiness state). */
  readonly database: Pick<DatabaseAvailability, "databaseUnavailable">;
  readonly log: Logger;
}

function databaseUnavailable(): StoreError {
  return new StoreError(503, { code: "api_error", type: "unexpected_state", message: "the database is unavailable; retry later" });
}

/** The path prefix of the Store API; everything under it is served here. */
export const storePrefix = "/store";

export function isStorePath(path: string): boolean {
  return path === storePrefix || path.startsWith(`${storePrefix}/`);
}

const publishableKeyHeader = "x-publishable-api-key";
/** What a storefront caller may do: its own and guest carts, and their orders. */
const storefrontScopes: ReadonlySet<string> = new Set(["carts:read", "carts:write", "carts:checkout", "orders:read"]);

/**
 * Serves Medusa's Store API (/store/…) for storefronts written for Medusa:
 * checks the publishable key first, takes the bearer token when it is valid
 * (anonymous otherwise), validates the request as Medusa does, and calls the
 * service methods through the one interceptor chain (auth, validation,
 * idempotency, error mapping, logs, metrics) as a storefront principal.
 * Results and refusals are written as Medusa's JSON (shapes.ts, errors.ts).
 */
export function createStoreHandler(options: StoreHandlerOptions): NodeHandlerFn {
  const { invoker, log } = options;

  async function callerOf(request: NodeServerRequest): Promise<Principal> {
    const match = /^Bearer ([^\s]+)$/i.exec(request.headers.authorization ?? "");
    if (match) {
      try {
        const verified = await options.verifyToken(match[1]!);
        return { subject: verified.subject, scopes: storefrontScopes, storefront: true };
      } catch {
        // An invalid or expired token on the Store API is no token at all.
      }
    }
    return { subject: "", scopes: storefrontScopes, storefront: true };
  }

  async function handle(request: NodeServerRequest, response: NodeServerResponse, subject: CallSubject & { status?: number }) {
    const url = request.url ?? "/";
    const queryStart = url.indexOf("?");
    const path = queryStart < 0 ? url : url.slice(0, queryStart);
    const keyToken = String(request.headers[publishableKeyHeader] ?? "").trim();
    if (keyToken === "") {
      throw StoreError.notAllowed(
        "Publishable API key required in the request header: x-publishable-api-key. You can manage your keys in settings in the dashboard.",
      );
    }
    // The key is read outside the interceptor chain: while the database is known to be down, refuse at once as the chain does.
    if (options.database.databaseUnavailable) throw databaseUnavailable();
    const resolved = await options.publishableKeys.resolve(keyToken).catch((error: unknown) => {
      log.warn("publishable key lookup failed", { cause: String(error) });
      throw databaseUnavailable();
    });
    if (resolved.status !== "valid") throw StoreError.notAllowed("A valid publishable key is required to proceed with the request");

    const route = matchStoreRoute(request.method ?? "GET", path);
    if (!route) throw StoreError.notFound(`Cannot ${request.method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path}`);
    Object.assign(subject, route.subject);

    const body = await readBody(request, options.readMaxBytes);
    const caller = await callerOf(request);
    const abort = new AbortController();
    response.once("close", () => abort.abort());
    const requestHeader = headersOf(request);
    const responseHeader = new Headers();
    let changes = 0;
    const storeRequest: StoreRequest = {
      params: route.params,
      query: queryObject(new URLSearchParams(queryStart < 0 ? "" : url.slice(queryStart + 1))),
      body: parseBody(body),
      caller,
      salesChannelForNewCart: (requested) => options.publishableKeys.salesChannelForNewCart(resolved.key, requested),
      setHeader: (name, value) => responseHeader.set(name, value),
      async call<I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>, input: MessageInitShape<I>): Promise<MessageShape<O>> {
        const spec = invoker.methods().get(`/${method.parent.typeName}/${method.name}`);
        if (!spec) throw new Error(`${method.parent.typeName}.${method.name} is not served`);
        // If-Match guards the route's first change only: the ones after it see the version it made.
        const header = new Headers(requestHeader);
        if (changes > 0) header.delete("if-match");
        if (method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) changes++;
        const call = {
          protocolName: "store",
          requestMethod: request.method ?? "GET",
          url: `http://${request.headers.host ?? request.headers[":authority"] ?? "localhost"}${url}`,
          requestHeader: header,
          signal: abort.signal,
        };
        const context = createCallContext(spec.method, call);
        context.values.set(principalKey, caller);
        const result = await invoker.invoke(spec, create(method.input, input), call, context);
        result.header.forEach((value, key) => responseHeader.set(key, value));
        return result.message as MessageShape<O>;
      },
    };
    const result = await route.run(storeRequest);
    send(response, 200, JSON.stringify(result), responseHeader);
  }

  return (request, response) => {
    const subject: CallSubject = {};
    handle(request, response, subject)
      .catch((reason: unknown) => {
        // Nobody is left to answer: the client closed its connection before its answer was written.
        if (clientGone(request, response)) {
          log.info("client went away", { protocol: "store", method: request.method, url: request.url, error: String(reason) });
          return;
        }
        const error = asStoreError(reason, subject);
        if (error.status >= 500 && !(reason instanceof StoreError)) {
          log.error("store request failed", { method: request.method, url: request.url, cause: String((reason as Error | undefined)?.stack ?? reason) });
        }
        const headers = new Headers();
        if (reason instanceof StoreError) {
          // Refused before any call: the chain logged nothing, so this is the request's only line.
          const requestId = requestIdOf(request.headers[requestIdHeader] as string | undefined);
          headers.set(requestIdHeader, requestId);
          log.info("request refused", { requestId, protocol: "store", method: request.method, url: request.url, status: error.status, error: error.message });
        }
        send(response, error.status, JSON.stringify(error.body), headers);
      })
      .catch((reason: unknown) => {
        log.error("store error response failed", { method: request.method, url: request.url, cause: String(reason) });
        response.destroy();
      });
  };
}

/** A body as Medusa reads it: nothing (the SDK sends an empty body with a JSON content type) reads as {}. */
function parseBody(text: string): unknown {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw StoreError.invalidData("Invalid request: the body is not valid JSON");
  }
}

/**
 * The query string as an object, a repeated key as a list. `locale` is
 * Medusa's locale middleware's, which takes it before validation.
 */
function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of params) {
    if (key === "locale") continue;
    const held = query[key];
    query[key] = held === undefined ? value : [...(Array.isArray(held) ? held : [held]), value];
  }
  return query;
}

function send(response: NodeServerResponse, status: number, payload: string, headers: Headers): void {
  const fields: Record<string, string> = {};
  headers.forEach((value, key) => {
    fields[key] = value;
  });
  response.writeHead(status, { ...fields, "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(payload)) });
  response.end(payload);
}
