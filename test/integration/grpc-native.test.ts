import { execFile } from "node:child_process";
import { once } from "node:events";
import http2 from "node:http2";
import path from "node:path";
import { promisify } from "node:util";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { adminToken } from "../support/auth.js";
import { bearer, clientFor, connectTransports } from "../support/clients.js";
import { grpcJsClient } from "../support/grpc-js-client.js";
import { connectErrorOfGrpcJs, violatedFields } from "../support/rpc-errors.js";
import { repoRoot, startServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);
const buf = path.join(repoRoot, "node_modules/.bin/buf");

const modes = ["native", "connect"] as const;
type Mode = (typeof modes)[number];
const servers = {} as Record<Mode, TestServer>;
/** A cart on the shared database, created before the tests. */
let cartId: string;

beforeAll(async () => {
  const started = await Promise.all(modes.map((mode) => startServer({ GRPC_SERVER: mode })));
  modes.forEach((mode, i) => (servers[mode] = started[i]!));
  const transport = connectTransports(servers.native.baseUrl)["connect+json (HTTP/1.1)"]!;
  await clientFor(CatalogService, transport).upsertProduct({
    product: { id: "native-mug", title: "Mug", active: true, prices: [{ currency: "USD", amountCents: 1299n }] },
  });
  const { cart } = await clientFor(CartService, transport).createCart({
    customerId: "grpc-native",
    items: [{ productId: "native-mug", quantity: 2 }],
  });
  cartId = cart!.id;
});

afterAll(() => Promise.all(Object.values(servers).map((server) => server.stop())));

/** A CreateCart every field of which breaks a rule. */
const invalidCreateCart = { customer_id: "", currency: "usd" };

async function grpcJsFailure(mode: Mode): Promise<ServiceError> {
  const carts = grpcJsClient("CartService", servers[mode].port);
  try {
    await carts.CreateCart(invalidCreateCart);
    return expect.fail("an invalid CreateCart succeeded");
  } catch (error) {
    return error as ServiceError;
  } finally {
    carts.close();
  }
}

interface RawResponse {
  headers: http2.IncomingHttpHeaders;
  /** Trailers, or the headers of a trailers-only response. */
  status: http2.IncomingHttpHeaders;
}

/** One request on an existing HTTP/2 session, with the exact content-type and body given. */
async function request(session: http2.ClientHttp2Session, urlPath: string, contentType: string, body: Buffer): Promise<RawResponse> {
  const stream = session.request({
    ":method": "POST",
    ":path": urlPath,
    "content-type": contentType,
    te: "trailers",
    authorization: `Bearer ${adminToken}`,
  });
  stream.end(body);
  const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
  let trailers: http2.IncomingHttpHeaders | undefined;
  stream.on("trailers", (received) => (trailers = received));
  stream.resume();
  await once(stream, "close");
  return { headers, status: trailers ?? headers };
}

/** A gRPC message: flags, length, bytes. */
function grpcFrame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

const healthCheck = "/grpc.health.v1.Health/Check";
/** Which stack answered: @grpc/grpc-js announces its decompressors in every response, connect-node here none. */
function stackOf(response: RawResponse): Mode {
  return response.headers["grpc-accept-encoding"] === "identity,deflate,gzip" ? "native" : "connect";
}

describe.each(modes)("gRPC served by the %s stack", (mode) => {
  it("gives @grpc/grpc-js clients a readable message and the violations in grpc-status-details-bin", async () => {
    const failure = await grpcJsFailure(mode);
    expect(failure.code).toBe(Code.InvalidArgument);
    // Not percent-encoded: grpc-js decodes with decodeURI, which leaves "%3A" and the like in place.
    expect(failure.details).toMatch(/^customer_id: /);
    expect(failure.metadata.get("x-request-id")).toHaveLength(1);
    expect(violatedFields(connectErrorOfGrpcJs(failure)).sort()).toEqual(["currency", "customer_id"]);
  });

  it("gives Connect's gRPC clients the same error details", async () => {
    const carts = clientFor(CartService, createGrpcTransport({ baseUrl: servers[mode].baseUrl, interceptors: [bearer(adminToken)] }));
    const failure = await carts.createCart({ customerId: "" }).catch((error: unknown) => ConnectError.from(error));
    expect(failure).toBeInstanceOf(ConnectError);
    expect((failure as ConnectError).code).toBe(Code.InvalidArgument);
    expect((failure as ConnectError).rawMessage).toMatch(/^customer_id: /);
    expect((failure as ConnectError).findDetails(ViolationsSchema)).toHaveLength(1);
  });

  it("accepts deadlines longer than MAX_TIMEOUT_MS (30 s, 1 h): they are the caller's patience, not an error", async () => {
    const carts = clientFor(CartService, createGrpcTransport({ baseUrl: servers[mode].baseUrl, interceptors: [bearer(adminToken)] }));
    for (const timeoutMs of [30_000, 3_600_000]) {
      expect((await carts.getCart({ id: cartId }, { timeoutMs })).cart?.id).toBe(cartId);
    }
    const grpcJs = grpcJsClient("CartService", servers[mode].port);
    try {
      for (const timeoutMs of [30_000, 3_600_000]) {
        expect((await grpcJs.GetCart({ id: cartId }, undefined, { deadline: Date.now() + timeoutMs })).cart.id).toBe(cartId);
      }
    } finally {
      grpcJs.close();
    }
  });

  it("answers malformed protobuf with INVALID_ARGUMENT", async () => {
    const session = http2.connect(servers[mode].baseUrl);
    try {
      // Field 1 (id, a string) claims more bytes than follow.
      const response = await request(session, "/commerce.cart.v1.CartService/GetCart", "application/grpc", grpcFrame(Buffer.from([0x0a, 0x7f, 0x61])));
      expect(response.status["grpc-status"]).toBe(String(Code.InvalidArgument));
      expect(decodeURIComponent(String(response.status["grpc-message"]))).toMatch(/^malformed commerce\.cart\.v1\.GetCartRequest: /);
    } finally {
      session.close();
    }
  });

  it("answers the gRPC health check", async () => {
    const health = clientFor(Health, createGrpcTransport({ baseUrl: servers[mode].baseUrl }));
    expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await health.check({ service: CartService.typeName })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    await expect(health.check({ service: "no.such.Service" })).rejects.toMatchObject({ code: Code.NotFound });
    const watched = [];
    for await (const { status } of health.watch({})) {
      watched.push(status);
      break;
    }
    expect(watched).toEqual([HealthCheckResponse_ServingStatus.SERVING]);
  });

  it("serves reflection, streaming, so buf curl needs no schema", async () => {
    const curl = (...args: string[]) =>
      run(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--header", `Authorization: Bearer ${adminToken}`, ...args], {
        cwd: repoRoot,
        timeout: 20_000,
      });
    const { stdout: methods } = await curl("--list-methods", servers[mode].baseUrl);
    expect(methods.split("\n")).toEqual(
      expect.arrayContaining([
        "commerce.cart.v1.CartService/GetCart",
        "commerce.cart.v1.CatalogService/UpsertProduct",
        "grpc.health.v1.Health/Check",
        "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      ]),
    );
    const { stdout } = await curl("--data", JSON.stringify({ id: cartId }), `${servers[mode].baseUrl}/commerce.cart.v1.CartService/GetCart`);
    expect(JSON.parse(stdout)).toMatchObject({ cart: { id: cartId, totalCents: String(2 * 1299) } });
  });

  it("answers several reflection requests on one stream, each file once, over v1alpha too", async () => {
    const transport = createGrpcTransport({ baseUrl: servers[mode].baseUrl });
    const reflection = clientFor(ServerReflection, transport);
    async function* requests() {
      yield { messageRequest: { case: "listServices" as const, value: "" } };
      yield { messageRequest: { case: "fileContainingSymbol" as const, value: "commerce.cart.v1.CartService.GetCart" } };
      yield { messageRequest: { case: "fileByFilename" as const, value: "commerce/cart/v1/catalog_service.proto" } };
      yield { messageRequest: { case: "fileContainingSymbol" as const, value: "no.such.Type" } };
    }
    const answers = [];
    for await (const response of reflection.serverReflectionInfo(requests())) answers.push(response.messageResponse);
    expect(answers.map((answer) => answer.case)).toEqual([
      "listServicesResponse",
      "fileDescriptorResponse",
      "fileDescriptorResponse",
      "errorResponse",
    ]);
    const [services, cartFiles, catalogFiles] = answers;
    expect(services?.case === "listServicesResponse" && services.value.service.map((service) => service.name)).toContain(
      "grpc.reflection.v1alpha.ServerReflection",
    );
    // The cart file comes with all it imports; the catalog file then brings only what was not sent yet.
    const cartCount = cartFiles?.case === "fileDescriptorResponse" ? cartFiles.value.fileDescriptorProto.length : 0;
    const catalogCount = catalogFiles?.case === "fileDescriptorResponse" ? catalogFiles.value.fileDescriptorProto.length : 0;
    expect(cartCount).toBeGreaterThan(5);
    expect(catalogCount).toBeGreaterThanOrEqual(1);
    expect(catalogCount).toBeLessThan(cartCount);

    const { stdout } = await run(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--reflect-protocol", "grpc-v1alpha", "--list-services", servers[mode].baseUrl], {
      cwd: repoRoot,
      timeout: 20_000,
    });
    expect(stdout.split("\n")).toContain("commerce.cart.v1.CartService");
  });

  it("serves Connect, gRPC-Web, gRPC and @grpc/grpc-js clients on the one port at once", async () => {
    const transports = connectTransports(servers[mode].baseUrl);
    const grpcJs = grpcJsClient("CartService", servers[mode].port);
    try {
      const reads = await Promise.all([
        ...Object.values(transports).map(async (transport) => (await clientFor(CartService, transport).getCart({ id: cartId })).cart?.totalCents),
        grpcJs.GetCart({ id: cartId }).then(({ cart }) => BigInt(cart.total_cents)),
      ]);
      expect(reads).toEqual(Array(reads.length).fill(2n * 1299n));
    } finally {
      grpcJs.close();
    }
  });
});

describe("the native stack", () => {
  it("sends the same grpc-status-details-bin as the Connect stack", async () => {
    const [native, connect] = await Promise.all(modes.map(grpcJsFailure));
    const statusDetails = (failure: ServiceError) => failure.metadata.get("grpc-status-details-bin")[0];
    expect(statusDetails(native!)).toBeInstanceOf(Buffer);
    expect(statusDetails(native!)).toEqual(statusDetails(connect!));
    expect(native!.details).toBe(connect!.details);
  });

  it("keeps a connection with the stack of its first request", async () => {
    const grpcFirst = http2.connect(servers.native.baseUrl);
    const connectFirst = http2.connect(servers.native.baseUrl);
    try {
      const grpc = await request(grpcFirst, healthCheck, "application/grpc", grpcFrame(Buffer.alloc(0)));
      expect(stackOf(grpc)).toBe("native");
      expect(grpc.status["grpc-status"]).toBe("0");
      // The documented trade-off: grpc-js refuses what is not gRPC.
      const connectAfterGrpc = await request(grpcFirst, healthCheck, "application/proto", Buffer.alloc(0));
      expect(connectAfterGrpc.headers[":status"]).toBe(415);

      const connect = await request(connectFirst, healthCheck, "application/proto", Buffer.alloc(0));
      expect(connect.headers[":status"]).toBe(200);
      const grpcAfterConnect = await request(connectFirst, healthCheck, "application/grpc", grpcFrame(Buffer.alloc(0)));
      expect(stackOf(grpcAfterConnect)).toBe("connect");
      expect(grpcAfterConnect.status["grpc-status"]).toBe("0");
    } finally {
      grpcFirst.close();
      connectFirst.close();
    }
  });

  it("answers the preface of clients that wait for the server's SETTINGS, then serves them natively", async () => {
    // Padded frames too: the router must find the header block inside them.
    const session = http2.connect(servers.native.baseUrl, { paddingStrategy: http2.constants.PADDING_STRATEGY_MAX });
    try {
      // No server exists for this connection yet: only the router can send these SETTINGS.
      await once(session, "remoteSettings");
      for (let call = 0; call < 2; call++) {
        const response = await request(session, healthCheck, "application/grpc", grpcFrame(Buffer.alloc(0)));
        expect(stackOf(response)).toBe("native");
        expect(response.status["grpc-status"]).toBe("0");
      }
    } finally {
      session.close();
    }
  });
});
