import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { cors } from "@connectrpc/connect";
import { replayedHeader } from "../../service/idempotency.js";
import { requestIdHeader } from "../interceptors/telemetry.js";

/** What browsers may send: Connect and gRPC-Web's own headers, the REST verbs, and the headers this API reads. */
const allowedMethods = [...new Set([...cors.allowedMethods, "PUT", "PATCH", "DELETE"])].join(", ");
const allowedHeaders = [
  ...cors.allowedHeaders,
  "Authorization",
  "Idempotency-Key",
  "If-Match",
  requestIdHeader,
  // The Store API's: Medusa's storefront SDK sends both on every request.
  "X-Publishable-Api-Key",
  "X-Medusa-Locale",
].join(", ");
/** What browser scripts may read: gRPC-Web's status headers, and the headers this API sets. */
const exposedHeaders = [...cors.exposedHeaders, requestIdHeader, replayedHeader].join(", ");
/** How long browsers may cache a preflight answer; Chromium caps it at 2 hours. */
const preflightMaxAgeSeconds = 7200;

type Handler<Request, Response> = (request: Request, response: Response) => void;

/**
 * Cross-origin access for browsers, for every protocol the handler serves
 * (Connect, gRPC-Web, REST). Requests from an allowed origin get the CORS
 * headers; preflights are answered here, 204 for an allowed origin and 403
 * with no CORS headers for any other. Credentials (cookies) are never
 * allowed: the API reads only bearer tokens, which a page must attach itself.
 */
export function withCors<Request extends IncomingMessage | Http2ServerRequest, Response extends ServerResponse | Http2ServerResponse>(
  handler: Handler<Request, Response>,
  allowedOrigins: readonly string[],
): Handler<Request, Response> {
  const anyOrigin = allowedOrigins.includes("*");
  const allowed = new Set(allowedOrigins);
  return (request, response) => {
    const origin = request.headers.origin;
    const isAllowed = origin !== undefined && (anyOrigin || allowed.has(origin));
    // With a list of origins the answer depends on the Origin header, so caches must key on it.
    if (allowed.size > 0 && !anyOrigin) response.setHeader("vary", "Origin");
    if (isAllowed) response.setHeader("access-control-allow-origin", anyOrigin ? "*" : origin);
    if (request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined) {
      if (!isAllowed) {
        response.writeHead(403, { "content-type": "text/plain; charset=utf-8" });
        response.end(`cross-origin requests from ${origin ?? "this page"} are not allowed (see CORS_ORIGINS)\n`);
        return;
      }
      response.writeHead(204, {
        "access-control-allow-methods": allowedMethods,
        "access-control-allow-headers": allowedHeaders,
        "access-control-max-age": String(preflightMaxAgeSeconds),
      });
      response.end();
      return;
    }
    if (isAllowed) response.setHeader("access-control-expose-headers", exposedHeaders);
    handler(request, response);
  };
}
