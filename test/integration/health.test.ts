import { Code, ConnectError } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { clientFor } from "../support/clients.js";
import { grpcJsHealthClient } from "../support/health.js";
import { startServer, type TestServer } from "../support/server.js";

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(() => server?.stop());

describe("grpc.health.v1.Health", () => {
  it("answers Check for the server and each service, without a token, and NOT_FOUND for others (@grpc/grpc-js)", async () => {
    const health = grpcJsHealthClient(server.port);
    try {
      expect(await health.check("")).toBe("SERVING");
      expect(await health.check(CartService.typeName)).toBe("SERVING");
      expect(await health.check(Health.typeName)).toBe("SERVING");
      await expect(health.check("no.such.Service")).rejects.toMatchObject({ code: Code.NotFound });
    } finally {
      health.close();
    }
  });

  it("answers Check over the Connect protocol too", async () => {
    const health = clientFor(Health, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }));
    expect((await health.check({})).status).toBe(ServingStatus.SERVING);
    const error = await health.check({ service: "no.such.Service" }).catch((caught: unknown) => ConnectError.from(caught));
    expect(error).toMatchObject({ code: Code.NotFound, rawMessage: 'unknown service "no.such.Service"' });
  });

  it("streams the status with Watch until the client leaves; an unknown service is SERVICE_UNKNOWN, the stream stays open", async () => {
    const health = grpcJsHealthClient(server.port);
    try {
      const whole = health.watch("");
      const unknown = health.watch("no.such.Service");
      await vi.waitFor(() => {
        expect(whole.statuses).toEqual(["SERVING"]);
        expect(unknown.statuses).toEqual(["SERVICE_UNKNOWN"]);
      });
      // Still open: only the client ends them.
      whole.cancel();
      unknown.cancel();
      expect((await whole.ended).code).toBe(Code.Canceled);
      expect((await unknown.ended).code).toBe(Code.Canceled);
    } finally {
      health.close();
    }
  });

  it("streams Watch over the Connect protocol on HTTP/1.1", async () => {
    const health = clientFor(Health, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }));
    const abort = new AbortController();
    const received: ServingStatus[] = [];
    for await (const { status } of health.watch({ service: CartService.typeName }, { signal: abort.signal })) {
      received.push(status);
      abort.abort();
      break;
    }
    expect(received).toEqual([ServingStatus.SERVING]);
  });
});

describe("HTTP probes", () => {
  it("answers GET /healthz (liveness) and GET /readyz (readiness) with 200, without a token, never cached", async () => {
    for (const [path, body] of [
      ["/healthz", { alive: true }],
      ["/readyz", { ready: true, draining: false, database: "reachable" }],
    ] as const) {
      const response = await fetch(`${server.baseUrl}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("cache-control"), path).toBe("no-store");
      expect(await response.json(), path).toEqual(body);
      const head = await fetch(`${server.baseUrl}${path}`, { method: "HEAD" });
      expect(head.status, `HEAD ${path}`).toBe(200);
      expect(await head.text(), `HEAD ${path}`).toBe("");
    }
  });

  it("refuses other methods on the probes with 405 and Allow", async () => {
    const response = await fetch(`${server.baseUrl}/readyz`, { method: "POST" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
    expect(await response.json()).toMatchObject({ error: "unimplemented" });
  });
});
