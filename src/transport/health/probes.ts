import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Readiness, ReadinessState } from "./readiness.js";
import { errorBody } from "../rest/response.js";

export const livenessPath = "/healthz";
export const readinessPath = "/readyz";

type Handler<Request, Response> = (request: Request, response: Response) => void;

/**
 * Answers the HTTP probes of orchestrators and load balancers, without a
 * token, and hands every other request to `next`:
 * - `GET /healthz` (liveness) is 200 while the process answers at all,
 *   shutting down included: restarting it would not help.
 * - `GET /readyz` (readiness) is 200 while the server takes calls, else 503;
 *   the body says why: `{"ready": false, "draining": true, "database": "reachable"}`.
 */
export function withProbes<Request extends IncomingMessage | Http2ServerRequest, Response extends ServerResponse | Http2ServerResponse>(
  readiness: Readiness,
  next: Handler<Request, Response>,
): Handler<Request, Response> {
  return (request, response) => {
    const url = request.url ?? "/";
    const queryStart = url.indexOf("?");
    const path = queryStart < 0 ? url : url.slice(0, queryStart);
    if (path !== livenessPath && path !== readinessPath) return next(request, response);
    if (request.method !== "GET" && request.method !== "HEAD") {
      const error = new ConnectError("this path accepts only GET, HEAD", Code.Unimplemented);
      return send(response, 405, errorBody(error), { allow: "GET, HEAD" });
    }
    if (path === livenessPath) return send(response, 200, { alive: true });
    readiness
      .state()
      .then((state) => send(response, state.ready ? 200 : 503, readinessBody(state)))
      // The prober went away before the answer was ready.
      .catch(() => response.destroy());
  };
}

function readinessBody(state: ReadinessState) {
  return { ready: state.ready, draining: state.draining, database: state.databaseReachable ? "reachable" : "unreachable" };
}

function send(response: ServerResponse | Http2ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(payload)),
    // A probe's answer is about this moment only.
    "cache-control": "no-store",
  });
  response.end(payload);
}
