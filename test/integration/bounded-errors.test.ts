import net from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { adminToken } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { grpcJsClient } from "../support/grpc-js-client.js";
import { connectErrorOfGrpcJs } from "../support/rpc-errors.js";
import { startServer, type TestServer } from "../support/server.js";
import { seedStore, storeCall } from "../support/store.js";

/**
 * Whatever a client sends, an error answer and a log line stay a few KB, the
 * connection keeps working after any refusal, malformed protobuf is the
 * client's fault on every protocol, and a client that leaves mid-request is
 * no server error.
 */

let server: TestServer;
let cartId: string;

beforeAll(async () => {
  server = await startServer();
  const carts = clientFor(CartService, connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!);
  cartId = (await carts.createCart({ customerId: "bounded-errors" })).cart!.id;
});

afterAll(() => server?.stop());

/** `count` distinct unknown field paths of `length` characters each. */
function unknownPaths(count: number, length: number): string[] {
  return Array.from({ length: count }, (_, index) => `no_such_field_${index}_`.padEnd(length, "x"));
}

/** The size in bytes of what a gRPC client received as the status: message and details. */
function statusBytes(error: grpc.ServiceError): number {
  const [details] = error.metadata.get("grpc-status-details-bin");
  return Buffer.byteLength(error.details) + (Buffer.isBuffer(details) ? details.length : 0);
}

describe("large refusals over native gRPC", { timeout: 60_000 }, () => {
  it("answers a read_mask of 2,200 unknown paths (a 31 KB request), then serves the next call on the same connection", async () => {
    const carts = grpcJsClient("CartService", server.port);
    try {
      const paths = unknownPaths(2200, 14);
      const failure = (await carts
        .GetCart({ id: cartId, read_mask: { paths } }, undefined, { deadline: Date.now() + 20_000 })
        .then(() => expect.fail("an unknown read_mask was accepted"))
        .catch((caught: unknown) => caught)) as grpc.ServiceError;
      expect(failure.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(failure.details).toMatch(/^read_mask: must have at most 100 paths/);
      expect(statusBytes(failure)).toBeLessThan(4096);
      // The same client, so the same HTTP/2 connection.
      const { cart } = await carts.GetCart({ id: cartId }, undefined, { deadline: Date.now() + 20_000 });
      expect(cart.id).toBe(cartId);
    } finally {
      carts.close();
    }
  });

  it("names the first five unknown paths of a read_mask and how many more, and stays within a few KB", async () => {
    const carts = grpcJsClient("CartService", server.port);
    try {
      const failure = (await carts
        .GetCart({ id: cartId, read_mask: { paths: unknownPaths(100, 200) } }, undefined, { deadline: Date.now() + 20_000 })
        .then(() => expect.fail("an unknown read_mask was accepted"))
        .catch((caught: unknown) => caught)) as grpc.ServiceError;
      expect(failure.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(failure.details).toMatch(/^read_mask: unknown field paths "no_such_field_0_x+…", .* and 95 more in commerce\.cart\.v1\.Cart$/);
      expect(connectErrorOfGrpcJs(failure).details).toHaveLength(1);
      expect(statusBytes(failure)).toBeLessThan(4096);
      expect((await carts.GetCart({ id: cartId })).cart.id).toBe(cartId);
    } finally {
      carts.close();
    }
  });

  it("bounds the field violations of a request breaking many rules, and the connection keeps working", async () => {
    const carts = grpcJsClient("CartService", server.port);
    try {
      // 50 metadata values over their length limit, under keys of 64 characters: 50 violations naming their keys.
      const metadata = Object.fromEntries(Array.from({ length: 50 }, (_, index) => [`key-${index}-`.padEnd(64, "k"), "v".repeat(600)]));
      const failure = (await carts
        .CreateCart({ customer_id: "bounded-errors", metadata })
        .then(() => expect.fail("an invalid CreateCart succeeded"))
        .catch((caught: unknown) => caught)) as grpc.ServiceError;
      expect(failure.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(statusBytes(failure)).toBeLessThan(4096);
      expect(connectErrorOfGrpcJs(failure).details.length).toBeGreaterThan(0);
      expect((await carts.GetCart({ id: cartId })).cart.id).toBe(cartId);
    } finally {
      carts.close();
    }
  });

  it("answers the same over connect-node's HTTP/2 transports, and serves the next call", async () => {
    for (const name of ["grpc (connect-node, HTTP/2)", "connect+proto (HTTP/2)"]) {
      const carts = clientFor(CartService, connectTransports(server.baseUrl)[name]!);
      const error = await carts
        .getCart({ id: cartId, readMask: { paths: unknownPaths(100, 200) } })
        .then(() => expect.fail(`${name}: an unknown read_mask was accepted`))
        .catch((caught: unknown) => ConnectError.from(caught));
      expect(error.code, name).toBe(Code.InvalidArgument);
      expect(error.rawMessage, name).toMatch(/and 95 more/);
      expect((await carts.getCart({ id: cartId })).cart?.id, name).toBe(cartId);
    }
  });
});

describe("error amplification", { timeout: 60_000 }, () => {
  const huge = "x".repeat(325 * 1024);

  it("answers a 325 KB request with an error of a few KB on every protocol, and logs no line over a few KB", async () => {
    const answers = [
      // An unknown JSON key: refused by connect-node itself, before any interceptor.
      await fetch(`${server.baseUrl}/commerce.cart.v1.CartService/CreateCart`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}`, "accept-encoding": "gzip" },
        body: `{"customerId":"bounded-errors","${huge}":1}`,
      }),
      // A read mask of 325 KB: refused by validation.
      await fetch(`${server.baseUrl}/commerce.cart.v1.CartService/GetCart`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ id: cartId, readMask: unknownPaths(20_000, 16).join(",") }),
      }),
      // REST: an unknown field, and an unknown query parameter, of 325 KB.
      await fetch(`${server.baseUrl}/v1/carts`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
        body: `{"customer_id":"bounded-errors","${huge}":1}`,
      }),
    ];
    for (const answer of answers) {
      const body = await answer.text();
      expect(answer.status, body.slice(0, 200)).toBe(400);
      expect(answer.headers.get("content-encoding")).toBeNull();
      expect(body.length).toBeLessThan(8192);
    }
    const longest = Math.max(...server.logs.map((entry) => JSON.stringify(entry).length));
    expect(longest).toBeLessThan(8192);
  });
});

/** A raw unary request: Connect with a protobuf body, or gRPC-Web with one enveloped message. */
async function sendBytes(protocol: "connect" | "grpc-web", message: Buffer): Promise<{ status: number; text: string }> {
  const enveloped = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), message]);
  enveloped.writeUInt32BE(message.length, 1);
  const answer = await fetch(`${server.baseUrl}/commerce.cart.v1.CartService/CreateCart`, {
    method: "POST",
    headers: {
      "content-type": protocol === "connect" ? "application/proto" : "application/grpc-web+proto",
      authorization: `Bearer ${adminToken}`,
    },
    body: new Uint8Array(protocol === "connect" ? message : enveloped),
  });
  return { status: answer.status, text: Buffer.from(await answer.arrayBuffer()).toString("latin1") };
}

describe("malformed protobuf", { timeout: 60_000 }, () => {
  const malformed = {
    "a truncated varint": Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]),
    "invalid UTF-8 in a string": Buffer.from([0x0a, 0x02, 0xc3, 0x28]),
  };

  it.each(Object.entries(malformed))("answers %s with invalid_argument / 400 over Connect", async (_, bytes) => {
    const { status, text } = await sendBytes("connect", bytes);
    expect(status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/^malformed commerce\.cart\.v1\.CreateCartRequest: /) });
  });

  it.each(Object.entries(malformed))("answers %s with INVALID_ARGUMENT over gRPC-Web", async (_, bytes) => {
    const { status, text } = await sendBytes("grpc-web", bytes);
    expect(status).toBe(200);
    expect(text).toMatch(/grpc-status: ?3\r\n/);
    expect(text).toMatch(/grpc-message: ?malformed/);
  });
});

describe("a client that leaves mid-request", { timeout: 60_000 }, () => {
  it.each([
    ["Connect", "/commerce.cart.v1.CartService/CreateCart"],
    ["REST", "/v1/carts"],
  ])("is logged at info as a client that went away (%s), not as a server error", async (_, path) => {
    const errorsBefore = server.logs.filter((entry) => entry.level === "error").length;
    const wentAwayBefore = server.logs.filter((entry) => entry.message === "client went away").length;
    const socket = net.connect(server.port, "127.0.0.1");
    socket.on("error", () => {});
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
        `Authorization: Bearer ${adminToken}\r\nContent-Length: 1000\r\n\r\n{"customerId":`,
    );
    // Let the server start reading the body, then leave.
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.destroy();
    await vi.waitFor(() => expect(server.logs.filter((entry) => entry.message === "client went away").length).toBeGreaterThan(wentAwayBefore), {
      timeout: 10_000,
    });
    const wentAway = server.logs.filter((entry) => entry.message === "client went away").at(-1)!;
    expect(wentAway.level).toBe("info");
    expect(server.logs.filter((entry) => entry.level === "error").length).toBe(errorsBefore);
  });

  it("is logged at info when it leaves while its Store API call runs (waiting for the cart's lock)", async () => {
    const store = await seedStore(server.baseUrl, "leaving");
    const { body } = await storeCall(server.baseUrl, "POST", "/store/carts", { key: store.key, body: { region_id: store.regionId } });
    const cartId = body.cart.id as string;
    const errorsBefore = server.logs.filter((entry) => entry.level === "error").length;
    const sql = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
    try {
      await sql.begin(async (tx) => {
        await tx`select 1 from carts where id = ${cartId} for update`;
        const socket = net.connect(server.port, "127.0.0.1");
        socket.on("error", () => {});
        await new Promise((resolve) => socket.once("connect", resolve));
        const item = JSON.stringify({ variant_id: store.mugId, quantity: 1 });
        socket.write(
          `POST /store/carts/${cartId}/line-items HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
            `x-publishable-api-key: ${store.key}\r\nContent-Length: ${item.length}\r\n\r\n${item}`,
        );
        // The call now waits for the lock this transaction holds; the client leaves meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 300));
        socket.destroy();
        await vi.waitFor(
          () => expect(server.logs.some((entry) => entry.message === "client went away" && String(entry.url).includes(cartId))).toBe(true),
          { timeout: 10_000 },
        );
      });
    } finally {
      await sql.end();
    }
    const wentAway = server.logs.find((entry) => entry.message === "client went away" && String(entry.url).includes(cartId))!;
    expect(wentAway.level).toBe("info");
    expect(server.logs.filter((entry) => entry.level === "error").length).toBe(errorsBefore);
  });
});
