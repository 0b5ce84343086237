import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { withCors } from "../../src/transport/http/cors.js";

/** withCors around a handler that answers 200 "served", on a real HTTP/1.1 server. */
async function serve(allowedOrigins: readonly string[]) {
  const server = http.createServer(withCors((_request, response) => response.end("served"), allowedOrigins));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return async (method: string, headers: Record<string, string>) => {
    const response = await fetch(`http://127.0.0.1:${port}/v1/carts`, { method, headers });
    return { status: response.status, headers: response.headers, body: await response.text() };
  };
}

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

const preflight = { "access-control-request-method": "PATCH", "access-control-request-headers": "authorization,if-match" };

describe("withCors", () => {
  it('with "*" answers any origin with "*", and never allows credentials', async () => {
    const request = await serve(["*"]);
    const answered = await request("OPTIONS", { origin: "https://anywhere.example", ...preflight });
    expect(answered.status).toBe(204);
    expect(answered.headers.get("access-control-allow-origin")).toBe("*");
    expect(answered.headers.get("access-control-allow-methods")).toContain("PATCH");
    expect(answered.headers.get("access-control-allow-credentials")).toBeNull();
    expect(answered.headers.get("vary")).toBeNull();

    const actual = await request("GET", { origin: "https://anywhere.example" });
    expect(actual).toMatchObject({ status: 200, body: "served" });
    expect(actual.headers.get("access-control-allow-origin")).toBe("*");
    expect(actual.headers.get("access-control-expose-headers")).toContain("x-request-id");
  });

  it("with no origins configured refuses every preflight and adds no CORS header", async () => {
    const request = await serve([]);
    const refused = await request("OPTIONS", { origin: "http://localhost:5173", ...preflight });
    expect(refused.status).toBe(403);
    expect(refused.body).toContain("http://localhost:5173 are not allowed");
    const actual = await request("GET", { origin: "http://localhost:5173" });
    expect(actual).toMatchObject({ status: 200, body: "served" });
    expect([...actual.headers.keys()].filter((name) => name.startsWith("access-control-"))).toEqual([]);
  });

  it("passes an OPTIONS request that is no preflight to the handler", async () => {
    const request = await serve(["http://localhost:5173"]);
    expect(await request("OPTIONS", { origin: "http://localhost:5173" })).toMatchObject({ status: 200, body: "served" });
  });
});
