import { readFileSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { grpcJsClient } from "../support/grpc-js-client.js";
import { startServer, type TestServer } from "../support/server.js";

/**
 * The one-port listener against hostile connections: silent ones, half an
 * HTTP/2 preface, dripped HTTP/1.1 headers and bodies, idle HTTP/2 sessions,
 * and more connections than the cap. Each is closed within its configured
 * timeout while a normal client is served.
 */

const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/** An empty SETTINGS frame: what a client sends right after the preface. */
const emptySettings = Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0]);

/**
 * How many hostile sockets the test holds: 1,000, or fewer when the open-file
 * limit (`ulimit -n`, inherited by the service's process) leaves no room for
 * them and a few hundred descriptors more. Raise it with `ulimit -n 4096`.
 */
function hostileSocketCount(): number {
  const limits = readFileSync("/proc/self/limits", "utf8").match(/^Max open files\s+(\d+|unlimited)/m);
  const softLimit = !limits || limits[1] === "unlimited" ? Infinity : Number(limits[1]);
  return Math.max(0, Math.min(1000, softLimit - 400));
}

interface HeldSocket {
  readonly socket: net.Socket;
  /** Everything the server sent. */
  readonly received: () => string;
  /** Resolves once the server (or the test) closed the connection. */
  readonly closed: Promise<void>;
}

/** A raw TCP connection that sends `first` once connected; resolves once connected. */
async function hold(port: number, first?: string | Buffer): Promise<HeldSocket> {
  const socket = net.connect(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  if (first !== undefined) socket.write(first);
  return { socket, received: () => Buffer.concat(chunks).toString("latin1"), closed };
}

/** GET /metrics on a connection of its own: the value of one sample, 0 when absent. */
async function metric(server: TestServer, sample: string): Promise<number> {
  const text = await (await fetch(`${server.baseUrl}/metrics`, { headers: { connection: "close" } })).text();
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

function logLines(server: TestServer, message: string): Record<string, unknown>[] {
  return server.logs.filter((entry) => entry.message === message);
}

describe("connection timeouts", { timeout: 120_000 }, () => {
  let server: TestServer;
  const held: HeldSocket[] = [];

  beforeAll(async () => {
    server = await startServer({
      PROTOCOL_DETECTION_TIMEOUT_MS: "1000",
      HTTP1_HEADERS_TIMEOUT_MS: "1500",
      HTTP1_REQUEST_TIMEOUT_MS: "3000",
      HTTP2_IDLE_TIMEOUT_MS: "2000",
    });
  });

  afterAll(async () => {
    for (const { socket } of held) socket.destroy();
    await server?.stop();
  });

  it("closes 1,000 silent, half-preface and half-request-line sockets, and serves a normal client meanwhile", async () => {
    const count = hostileSocketCount();
    expect(count, "the open-file limit (ulimit -n) leaves room for too few sockets").toBeGreaterThanOrEqual(300);
    for (let index = 0; index < count; index++) {
      const first = [undefined, preface.slice(0, 10), "GET /healthz HT"][index % 3];
      held.push(await hold(server.port, first));
    }
    // All still open (the timeouts are seconds away): a normal client is served over HTTP/1.1 and native gRPC.
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
    const carts = grpcJsClient("CartService", server.port);
    try {
      const created = await carts.CreateCart({ customer_id: "connections-normal" });
      expect(created.cart.customer_id).toBe("connections-normal");
    } finally {
      carts.close();
    }
    // Then the server closes every one of them.
    await Promise.all(held.map(({ closed }) => closed));
    // The half request lines went to HTTP/1.1 and were answered 408 by its headers timeout.
    const halfRequests = held.filter((_, index) => index % 3 === 2);
    expect(halfRequests.every(({ received }) => received().startsWith("HTTP/1.1 408"))).toBe(true);
    const silent = held.filter((_, index) => index % 3 !== 2);
    expect(silent.every(({ received }) => received() === "")).toBe(true);
    expect(await metric(server, 'cart_connections_timed_out_total{timeout="protocol_detection"}')).toBeGreaterThanOrEqual(silent.length);
    expect(await metric(server, 'cart_connections_timed_out_total{timeout="http1_request"}')).toBeGreaterThanOrEqual(halfRequests.length);
    // Logged, but once per burst rather than once per socket.
    const detectionLines = logLines(server, "connection closed: no protocol within the detection timeout");
    expect(detectionLines.length).toBeGreaterThanOrEqual(1);
    expect(detectionLines.length).toBeLessThanOrEqual(3);
  });

  it("hands a connection that sent only the HTTP/2 preface to HTTP/2, which sends GOAWAY when it stays idle, and closes it", async () => {
    const onlyPreface = await hold(server.port, Buffer.concat([Buffer.from(preface), emptySettings]));
    await onlyPreface.closed;
    // SETTINGS (type 4) from the server, then GOAWAY (type 7).
    const frames = Buffer.from(onlyPreface.received(), "latin1");
    const types: number[] = [];
    for (let offset = 0; offset + 9 <= frames.length; offset += 9 + frames.readUIntBE(offset, 3)) types.push(frames[offset + 3]!);
    expect(types).toContain(0x7);
  });

  it("answers 408 to HTTP/1.1 headers that drip in, and to a body that drips in", async () => {
    const slowHeaders = await hold(server.port, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ");
    const slowBody = await hold(
      server.port,
      "POST /v1/carts HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
    );
    held.push(slowHeaders, slowBody);
    // One byte every 100 ms: never idle, never done. Bounded: 60 s at most.
    let open = true;
    void Promise.all([slowHeaders.closed, slowBody.closed]).then(() => (open = false));
    for (let drip = 0; open && drip < 600; drip++) {
      if (!slowHeaders.socket.destroyed) slowHeaders.socket.write("a");
      if (!slowBody.socket.destroyed) slowBody.socket.write(" ");
      await sleep(100);
    }
    await Promise.all([slowHeaders.closed, slowBody.closed]);
    expect(slowHeaders.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(slowBody.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it("sends GOAWAY to idle HTTP/2 connections, on connect-node and on the native gRPC server alike", async () => {
    const idleAfter = async (headers: http2.OutgoingHttpHeaders, body?: Buffer) => {
      const session = http2.connect(server.baseUrl);
      session.on("error", () => {});
      const goaway = new Promise<number>((resolve) => session.once("goaway", (errorCode) => resolve(errorCode)));
      const stream = session.request(headers);
      stream.on("data", () => {});
      stream.end(body);
      await new Promise((resolve) => stream.once("close", resolve));
      expect(await goaway).toBe(http2.constants.NGHTTP2_NO_ERROR);
      session.destroy();
    };
    await idleAfter({ ":path": "/healthz" });
    // grpc.health.v1.Health/Check with an empty request: a gRPC connection, served by @grpc/grpc-js.
    await idleAfter(
      { ":method": "POST", ":path": "/grpc.health.v1.Health/Check", "content-type": "application/grpc", te: "trailers" },
      Buffer.from([0, 0, 0, 0, 0]),
    );
    await vi.waitFor(async () => expect(await metric(server, 'cart_connections_timed_out_total{timeout="http2_idle"}')).toBeGreaterThanOrEqual(1));
  });
});

describe("MAX_CONNECTIONS", { timeout: 120_000 }, () => {
  const cap = 20;
  let server: TestServer;
  const held: HeldSocket[] = [];

  beforeAll(async () => {
    server = await startServer({ MAX_CONNECTIONS: String(cap), PROTOCOL_DETECTION_TIMEOUT_MS: "3000" });
  });

  afterAll(async () => {
    for (const { socket } of held) socket.destroy();
    await server?.stop();
  });

  it("closes connections over the cap at accept, logs the burst once and counts it, and serves again once the silent ones are reaped", async () => {
    for (let index = 0; index < cap; index++) held.push(await hold(server.port));
    const over: HeldSocket[] = [];
    for (let index = 0; index < 10; index++) over.push(await hold(server.port));
    held.push(...over);
    // Closed at once, without a byte: the silent ones are still within their detection timeout.
    await Promise.all(over.map(({ closed }) => closed));
    expect(over.every(({ received }) => received() === "")).toBe(true);
    // The silent ones are reaped; then a normal client is served again.
    await Promise.all(held.map(({ closed }) => closed));
    expect((await fetch(`${server.baseUrl}/healthz`, { headers: { connection: "close" } })).status).toBe(200);
    expect(await metric(server, "cart_connections_refused_total")).toBeGreaterThanOrEqual(10);
    const refusedLines = logLines(server, "connection refused: MAX_CONNECTIONS connections are open");
    expect(refusedLines).toHaveLength(1);
    expect(refusedLines[0]).toMatchObject({ level: "warn", count: 1, maxConnections: cap });
  });
});
