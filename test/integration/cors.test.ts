import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { customerToken } from "../support/auth.js";
import { bearer, clientFor } from "../support/clients.js";
import { startServer, type TestServer } from "../support/server.js";

const shop = "https://shop.example.com";
const devServer = "http://localhost:5173";

let server: TestServer;
let token: string;

beforeAll(async () => {
  // Spelled loosely on purpose: the service compares origins as browsers send them.
  server = await startServer({ CORS_ORIGINS: `${shop}/, HTTP://LOCALHOST:5173` });
  token = await customerToken("cors-customer");
});

afterAll(() => server?.stop());

/** A request as a browser sends it over HTTP/1.1 (Node's fetch), with the given Origin. */
async function request(method: string, path: string, headers: Record<string, string>, body?: string) {
  const response = await fetch(`${server.baseUrl}${path}`, { method, headers, body });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

const corsHeaderNames = (headers: Headers) => [...headers.keys()].filter((name) => name.startsWith("access-control-"));
const listed = (value: string | null) => (value ?? "").split(",").map((item) => item.trim().toLowerCase());

/** What a browser asks before each kind of call this API serves. */
const preflights: [string, string, string, string[]][] = [
  ["Connect", "/commerce.cart.v1.CartService/CreateCart", "POST", ["content-type", "connect-protocol-version", "connect-timeout-ms", "authorization", "idempotency-key", "x-request-id"]],
  ["gRPC-Web", "/commerce.cart.v1.CartService/CreateCart", "POST", ["content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "authorization"]],
  ["REST", "/v1/carts/0190c7d0-0000-7000-8000-000000000000/items/0190c7d0-0000-7000-8000-000000000001", "PATCH", ["content-type", "authorization", "if-match", "idempotency-key"]],
  ["REST", "/v1/carts/0190c7d0-0000-7000-8000-000000000000", "DELETE", ["authorization"]],
];

describe.each(preflights)("a %s preflight for %s %s", (_kind, path, method, headers) => {
  const preflight = { "access-control-request-method": method, "access-control-request-headers": headers.join(",") };

  it.each([shop, devServer])("from the allowed origin %s is answered 204 with what the call needs", async (origin) => {
    const answer = await request("OPTIONS", path, { origin, ...preflight });
    expect(answer.status).toBe(204);
    expect(answer.headers.get("access-control-allow-origin")).toBe(origin);
    expect(listed(answer.headers.get("access-control-allow-methods"))).toContain(method.toLowerCase());
    expect(listed(answer.headers.get("access-control-allow-headers"))).toEqual(expect.arrayContaining(headers));
    expect(answer.headers.get("access-control-allow-credentials")).toBeNull();
    expect(Number(answer.headers.get("access-control-max-age"))).toBeGreaterThan(0);
    expect(answer.headers.get("vary")).toBe("Origin");
  });

  it.each(["https://evil.example", "https://shop.example.com.evil.example", "http://shop.example.com", "null"])(
    "from %s is refused with 403 and no CORS headers",
    async (origin) => {
      const answer = await request("OPTIONS", path, { origin, ...preflight });
      expect(answer.status).toBe(403);
      expect(answer.body).toContain("not allowed");
      expect(corsHeaderNames(answer.headers)).toEqual([]);
    },
  );
});

describe("actual requests", () => {
  const auth = () => ({ authorization: `Bearer ${token}` });
  const connectCall = (origin: Record<string, string>) =>
    request("POST", "/commerce.cart.v1.CatalogService/ListProducts", { ...origin, ...auth(), "content-type": "application/json" }, "{}");
  const restCall = (origin: Record<string, string>) => request("GET", "/v1/products?page_size=1", { ...origin, ...auth() });

  it.each([
    ["Connect", connectCall],
    ["REST", restCall],
  ])("over %s from an allowed origin carry the CORS headers; from others, none", async (_kind, call) => {
    const allowed = await call({ origin: shop });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(shop);
    expect(listed(allowed.headers.get("access-control-expose-headers"))).toEqual(
      expect.arrayContaining(["x-request-id", "grpc-status", "grpc-message", "grpc-status-details-bin"]),
    );
    expect(allowed.headers.get("x-request-id")).toBeTruthy();

    // The browser blocks the answer; the service serves it as it would any client.
    const other = await call({ origin: "https://evil.example" });
    expect(other.status).toBe(200);
    expect(corsHeaderNames(other.headers)).toEqual([]);
    const noOrigin = await call({});
    expect(corsHeaderNames(noOrigin.headers)).toEqual([]);
    expect(noOrigin.headers.get("vary")).toBe("Origin");
  });

  it("let the page read a refusal: errors carry the CORS headers too", async () => {
    const refused = await request("POST", "/commerce.cart.v1.CatalogService/ListProducts", { origin: devServer, "content-type": "application/json" }, "{}");
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(devServer);
    expect(JSON.parse(refused.body)).toMatchObject({ code: "unauthenticated" });
  });

  it("over gRPC-Web from an allowed origin expose the status headers the client reads", async () => {
    const headers: Headers[] = [];
    const transport = createGrpcWebTransport({
      baseUrl: server.baseUrl,
      httpVersion: "1.1",
      interceptors: [
        bearer(token),
        (next) => (call) => {
          call.header.set("origin", devServer);
          return next(call);
        },
      ],
    });
    const { products } = await clientFor(CatalogService, transport).listProducts({ pageSize: 1 }, { onHeader: (header) => headers.push(header) });
    expect(products.length).toBeLessThanOrEqual(1);
    expect(headers[0]?.get("access-control-allow-origin")).toBe(devServer);
    expect(listed(headers[0]?.get("access-control-expose-headers") ?? null)).toEqual(expect.arrayContaining(["grpc-status", "grpc-message"]));
  });
});
