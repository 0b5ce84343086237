import http from "node:http";
import net from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type ServiceError, status as grpcStatus } from "@grpc/grpc-js";
import postgres from "postgres";
import { afterAll, describe, expect, inject, it, vi } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { adminToken } from "../support/auth.js";
import { bearer, clientFor } from "../support/clients.js";
import { grpcJsClient } from "../support/grpc-js-client.js";
import { grpcJsHealthClient } from "../support/health.js";
import { holdCartLock } from "../support/row-locks.js";
import { startServer, type TestServer } from "../support/server.js";

const admin = postgres(inject("databaseUrl"), { max: 2, onnotice: () => {} });
const servers: TestServer[] = [];

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  await admin.end();
});

interface PlainResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are checked field by field
  body: any;
  connection: string | undefined;
  /** Whether the request went over a keep-alive connection opened before. */
  reusedSocket: boolean;
}

/** A GET over HTTP/1.1 through `agent`, which keeps its connections alive between requests. */
function get(agent: http.Agent, url: string, headers: http.OutgoingHttpHeaders = {}): Promise<PlainResponse> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, headers }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode!, body: JSON.parse(text), connection: response.headers.connection, reusedSocket: request.reusedSocket }),
      );
    });
    request.on("error", reject);
  });
}

/** How a new TCP connection to `port` fares: the error code, or "connected". */
function connectTo(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

const inFlight = 100;

describe.each([{ workers: 1 }, { workers: 2 }])("graceful shutdown with WORKERS=$workers", ({ workers }) => {
  it(`lets ${inFlight} calls in flight at SIGTERM finish, refuses new ones, and exits 0`, { timeout: 120_000 }, async () => {
    const server = await startServer({
      WORKERS: String(workers),
      DB_POOL_SIZE: "10",
      // The calls queue on a row lock the test holds; nothing may give up waiting.
      DB_LOCK_TIMEOUT_MS: "60000",
      DB_STATEMENT_TIMEOUT_MS: "60000",
      SHUTDOWN_GRACE_MS: "60000",
    });
    servers.push(server);
    const connect = createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "2", interceptors: [bearer(adminToken)] });
    const productId = `drain-mug-${workers}`;
    await clientFor(CatalogService, connect).upsertProduct({
      product: { id: productId, title: "Mug", active: true, prices: [{ currency: "USD", amountCents: 500n }] },
    });
    const connectCarts = clientFor(CartService, connect);
    const { cart } = await connectCarts.createCart({ customerId: `drain-${workers}` });
    const cartId = cart!.id;

    // Health clients share the connections of the cart clients (HTTP/2: one connection each), the watch has its own.
    const grpcJs = grpcJsClient("CartService", server.port);
    const grpcJsHealth = grpcJsHealthClient(server.port, grpcJs.channel);
    const connectHealth = clientFor(Health, connect);
    const watcher = grpcJsHealthClient(server.port);
    const watch = watcher.watch("");
    await vi.waitFor(() => expect(watch.statuses).toEqual(["SERVING"]));

    const lock = await holdCartLock(admin, cartId);
    try {

      const calls = Array.from({ length: inFlight }, (_, i) =>
        i % 2 === 0
          ? grpcJs.AddLineItem({ cart_id: cartId, product_id: productId, quantity: 1 }).then(({ cart }) => Number(cart.items[0].quantity))
          : connectCarts.addLineItem({ cartId, productId, quantity: 1 }).then(({ cart }) => cart!.items[0]!.quantity),
      );
      const settled = Promise.allSettled(calls);
      // As many as the pool has connections wait on the lock; the others wait for a connection.
      await vi.waitFor(async () => expect(await lock.waiting()).toBeGreaterThanOrEqual(10), { timeout: 20_000, interval: 100 });
      // On each connection, a later call answered: the server has taken every call sent before it.
      expect(await grpcJsHealth.check("")).toBe("SERVING");
      expect((await connectHealth.check({})).status).toBe(ServingStatus.SERVING);
      // Idle keep-alive HTTP/1.1 connections, opened before the shutdown.
      const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 3 });
      await Promise.all([0, 1, 2].map(() => get(keepAlive, `${server.baseUrl}/healthz`)));

      process.kill(server.pid, "SIGTERM");

      // Health says so at once, and ends the watch so that its connection can close.
      await vi.waitFor(() => expect(watch.statuses).toEqual(["SERVING", "NOT_SERVING"]), { timeout: 10_000 });
      expect((await watch.ended).code).toBe(grpcStatus.OK);
      // No new connections…
      await vi.waitFor(async () => expect(await connectTo(server.port)).toBe("ECONNREFUSED"), { timeout: 10_000 });
      // …no new calls on the connections in use (HTTP/2 GOAWAY: clients must reconnect, which is refused)…
      const grpcJsRefusal = await grpcJs.GetCart({ id: cartId }).then(
        () => expect.fail("a new gRPC call succeeded while draining"),
        (error: ServiceError) => error,
      );
      expect(grpcJsRefusal.code).toBe(Code.Unavailable);
      const connectRefusal = await connectCarts.getCart({ id: cartId }).then(
        () => expect.fail("a new Connect call succeeded while draining"),
        (error: unknown) => ConnectError.from(error),
      );
      expect(connectRefusal.code).toBe(Code.Unavailable);
      // …and on idle HTTP/1.1 connections calls are refused with 503, probes still answer; each connection then closes.
      const liveness = await get(keepAlive, `${server.baseUrl}/healthz`);
      const readiness = await get(keepAlive, `${server.baseUrl}/readyz`);
      const restCall = await get(keepAlive, `${server.baseUrl}/v1/carts/${cartId}`, { authorization: `Bearer ${adminToken}` });
      expect([liveness, readiness, restCall].map(({ reusedSocket }) => reusedSocket)).toEqual([true, true, true]);
      expect(liveness).toMatchObject({ status: 200, body: { alive: true }, connection: "close" });
      expect(readiness).toMatchObject({ status: 503, body: { ready: false, draining: true, database: "reachable" }, connection: "close" });
      expect(restCall).toMatchObject({ status: 503, body: { error: "unavailable", message: "the server is shutting down; retry the call" } });

      // Every call in flight is still waiting; once the lock is released they all finish, one after another.
      await lock.release();
      const results = await settled;
      expect(results.filter(({ status }) => status === "rejected")).toEqual([]);
      const quantities = results.map((result) => (result as PromiseFulfilledResult<number>).value).sort((a, b) => a - b);
      expect(quantities).toEqual(Array.from({ length: inFlight }, (_, i) => i + 1));
      expect(await server.exited).toBe(0);
      expect(server.logs.map((entry) => entry.message)).not.toContain("calls still running when SHUTDOWN_GRACE_MS ran out were cut off");
      // An ordinary shutdown: nothing failed on the way (sweeper passes, the pool, the drain).
      expect(server.logs.filter((entry) => entry.level === "error" || entry.level === "warn")).toEqual([]);
    } finally {
      // After a failure: let the calls still waiting go (after the release, this changes nothing).
      await lock.release();
      grpcJs.close();
      watcher.close();
    }
  });
});
