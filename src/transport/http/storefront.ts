import { readFileSync } from "node:fs";
import { BlockList, isIP } from "node:net";
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import path from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { build } from "esbuild";
import type { Logger } from "../../logger.js";
import { projectPath } from "../../project-root.js";
import { errorBody } from "../rest/response.js";

export interface StorefrontOptions {
  /**
   * Mints a short-lived customer token for the page, served at /demo/token.
   * Only development mode (a local signing key) has one; otherwise the page
   * takes its token from the URL (`/demo#token=<JWT>`).
   */
  readonly issueToken?: () => Promise<string>;
  /** The configured HOST: a name the token may be asked for by, besides loopback names and addresses. */
  readonly host: string;
}

const sources = projectPath("src", "storefront");

/** The page talks only to this service; its one script is the bundle below. */
const pageHeaders: OutgoingHttpHeaders = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

type Handler<Request, Response> = (request: Request, response: Response) => void;

const tokenPath = "/demo/token";

/**
 * Whether a request comes from a page of this service, or from no page at
 * all (curl): browsers send `Origin` with every cross-origin fetch. Only
 * the host is compared, as a proxy in front may serve this plaintext port
 * over https.
 */
function fromOwnPages(request: IncomingMessage | Http2ServerRequest): boolean {
  const { origin } = request.headers;
  if (origin === undefined) return true;
  const host = request.headers.host ?? request.headers[":authority"];
  return (
    host !== undefined &&
    ["http", "https"].some((scheme) => {
      const ownOrigin = `${scheme}://${host}`;
      return URL.canParse(ownOrigin) && new URL(ownOrigin).origin === origin;
    })
  );
}

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

/** The host name or address a request is addressed to (Host, or HTTP/2's :authority), without port or brackets. */
function hostOf(request: IncomingMessage | Http2ServerRequest): string | undefined {
  const authority = request.headers[":authority"] ?? request.headers.host;
  if (typeof authority !== "string" || !URL.canParse(`http://${authority}`)) return undefined;
  return new URL(`http://${authority}`).hostname.replace(/^\[(.*)\]$/, "$1");
}

/**
 * Whether a request is addressed to this service by a name no other site
 * controls: a loopback name or address, the configured HOST, or the address
 * the connection came in on. A DNS-rebinding page, on a name of its own that
 * it re-points at this machine, sends that name as Host and its own origin
 * as Origin, which the origin check alone would take for one of our pages.
 */
function addressedToThisService(host: string | undefined, request: IncomingMessage | Http2ServerRequest, configuredHost: string): boolean {
  if (host === undefined) return false;
  const ipVersion = isIP(host);
  if (ipVersion !== 0 && loopback.check(host, ipVersion === 4 ? "ipv4" : "ipv6")) return true;
  const connectedTo = request.socket.localAddress?.replace(/^::ffff:/, "");
  return host === "localhost" || host.endsWith(".localhost") || host === configuredHost.toLowerCase() || host === connectedTo;
}

/** Why a request gets no demo token, or undefined when it may have one. */
function tokenRefusal(request: IncomingMessage | Http2ServerRequest, configuredHost: string): string | undefined {
  const host = hostOf(request);
  if (!addressedToThisService(host, request, configuredHost)) {
    return `demo tokens are handed only to requests addressed to this service, not to host ${host ?? "(none)"}`;
  }
  if (!fromOwnPages(request)) return `demo tokens are handed only to this service's own pages, not to ${request.headers.origin}`;
  return undefined;
}

/**
 * Serves the demo storefront (src/storefront) at /demo: the page, its
 * script bundled by esbuild from TypeScript on first request (kept in
 * memory, so there is no build step and no build output), and in
 * development mode a customer token for it, to its own pages only (by
 * Origin and by Host): with `CORS_ORIGINS=*` any site a developer visits
 * could read one otherwise.
 * Wrap it around the CORS handling, which must add nothing to these
 * answers. Every other request goes to `handler`.
 */
export function withStorefront<Request extends IncomingMessage | Http2ServerRequest, Response extends ServerResponse | Http2ServerResponse>(
  handler: Handler<Request, Response>,
  options: StorefrontOptions,
  log: Logger,
): Handler<Request, Response> {
  const page = readFileSync(path.join(sources, "index.html"));
  let bundle: Promise<string> | undefined;
  const script = () => {
    bundle ??= bundleScript().catch((error: unknown) => {
      bundle = undefined; // a fixed source builds on the next request
      throw error;
    });
    return bundle;
  };
  type Route = () => Promise<[OutgoingHttpHeaders, string | Buffer]>;
  const routes = new Map<string, Route>([
    ["/demo", async () => [{ ...pageHeaders, "content-type": "text/html; charset=utf-8" }, page]],
    ["/demo/app.js", async () => [{ ...pageHeaders, "content-type": "text/javascript; charset=utf-8" }, await script()]],
  ]);
  const { issueToken } = options;
  if (issueToken) {
    routes.set(tokenPath, async () => [{ "content-type": "application/json", "cache-control": "no-store" }, JSON.stringify({ token: await issueToken() })]);
  }

  return (request, response) => {
    const path = request.url?.split("?", 1)[0] ?? "";
    const route = routes.get(path);
    if (!route || request.method !== "GET") return handler(request, response);
    const refusal = path === tokenPath ? tokenRefusal(request, options.host) : undefined;
    if (refusal) {
      response.writeHead(403, { "content-type": "application/json", "cache-control": "no-store" });
      response.end(JSON.stringify(errorBody(new ConnectError(refusal, Code.PermissionDenied))));
      return;
    }
    route().then(
      ([headers, body]) => {
        response.writeHead(200, { ...headers, "content-length": Buffer.byteLength(body) });
        response.end(body);
      },
      (error: unknown) => {
        log.error("demo storefront failed", { path, cause: String((error as Error | undefined)?.stack ?? error) });
        response.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        response.end("internal error\n");
      },
    );
  };
}

async function bundleScript(): Promise<string> {
  const result = await build({
    entryPoints: [path.join(sources, "app.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}
