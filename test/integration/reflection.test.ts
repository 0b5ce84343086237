import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { create, createFileRegistry, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import {
  type ServerReflectionRequestSchema as RequestSchemaType,
  ServerReflectionRequestSchema,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { customerToken } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { repoRoot, startServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);
const buf = path.join(repoRoot, "node_modules/.bin/buf");

const stacks = ["native", "connect"] as const;
const servers = {} as Record<(typeof stacks)[number], TestServer>;
let token: string;
let cartId: string;

beforeAll(async () => {
  const started = await Promise.all(stacks.map((stack) => startServer({ GRPC_SERVER: stack })));
  stacks.forEach((stack, i) => (servers[stack] = started[i]!));
  await clientFor(CatalogService, connectTransports(servers.native.baseUrl)["connect+json (HTTP/1.1)"]!).upsertProduct({
    product: { id: "reflect-mug", title: "Mug", active: true, prices: [{ currency: "USD", amountCents: 1299n }] },
  });
  token = await customerToken("reflection-customer");
  const carts = clientFor(CartService, connectTransports(servers.native.baseUrl, token)["connect+json (HTTP/1.1)"]!);
  cartId = (await carts.createCart({ customerId: "reflection-customer", items: [{ productId: "reflect-mug", quantity: 2 }] })).cart!.id;
});

afterAll(() => Promise.all(Object.values(servers).map((server) => server.stop())));

/* eslint-disable @typescript-eslint/no-explicit-any -- buf curl prints untyped proto JSON */
describe.concurrent.each([
  ["connect", []],
  ["grpc", ["--protocol", "grpc"]],
  ["grpcweb", ["--protocol", "grpcweb"]],
])("buf curl --protocol %s without --schema", (_protocol, flags) => {
  const curl = async (...args: string[]) => (await run(buf, ["curl", ...flags, ...args], { cwd: repoRoot, timeout: 20_000 })).stdout;

  it.each(["grpc-v1", "grpc-v1alpha"])("lists every method through reflection (%s), with no token", async (reflectProtocol) => {
    const methods = (await curl("--reflect-protocol", reflectProtocol, "--list-methods", servers.native.baseUrl)).split("\n");
    expect(methods).toEqual(
      expect.arrayContaining([
        "commerce.cart.v1.CartService/GetCart",
        "commerce.cart.v1.CatalogService/ListProducts",
        "commerce.cart.v1.StoreConfigService/GetRegion",
        "grpc.health.v1.Health/Check",
      ]),
    );
  });

  it("calls GetCart with the schema it fetched and the caller's token", async () => {
    const printed = await curl("--header", `Authorization: Bearer ${token}`, "--data", JSON.stringify({ id: cartId }), `${servers.native.baseUrl}/commerce.cart.v1.CartService/GetCart`);
    const { cart } = JSON.parse(printed) as { cart: any };
    expect(cart).toMatchObject({ id: cartId, customerId: "reflection-customer", totalCents: String(2 * 1299) });
    expect(cart.items).toEqual([expect.objectContaining({ productId: "reflect-mug", quantity: 2 })]);
  });
});
/* eslint-enable @typescript-eslint/no-explicit-any */

/**
 * A plain @grpc/grpc-js bidirectional call to ServerReflectionInfo, with the
 * messages encoded by the generated reflection descriptors: the way a client
 * without this service's .proto files discovers it. v1alpha messages are
 * wire-identical to v1 ones.
 */
async function reflect(
  port: number,
  version: "v1" | "v1alpha",
  requests: MessageInitShape<typeof RequestSchemaType>[],
): Promise<ServerReflectionResponse["messageResponse"][]> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const call = client.makeBidiStreamRequest(
      `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
      (request: MessageInitShape<typeof RequestSchemaType>) => Buffer.from(toBinary(ServerReflectionRequestSchema, create(ServerReflectionRequestSchema, request))),
      (bytes: Buffer) => fromBinary(ServerReflectionResponseSchema, bytes),
    );
    for (const request of requests) call.write(request);
    call.end();
    const answers: ServerReflectionResponse["messageResponse"][] = [];
    for await (const response of call as AsyncIterable<ServerReflectionResponse>) answers.push(response.messageResponse);
    return answers;
  } finally {
    client.close();
  }
}

/** The files with each after those it imports, as a FileDescriptorSet lists them; throws when one is missing. */
function dependenciesFirst(files: readonly FileDescriptorProto[]): FileDescriptorProto[] {
  const byName = new Map(files.map((file) => [file.name, file]));
  const ordered = new Set<FileDescriptorProto>();
  const visit = (file: FileDescriptorProto) => {
    if (ordered.has(file)) return;
    for (const name of file.dependency) {
      const dependency = byName.get(name);
      if (!dependency) throw new Error(`the answer lacks ${name}, imported by ${file.name}`);
      visit(dependency);
    }
    ordered.add(file);
  };
  files.forEach(visit);
  return [...ordered];
}

describe.each(stacks)("reflection from a @grpc/grpc-js client (GRPC_SERVER=%s)", (stack) => {
  it.each(["v1", "v1alpha"] as const)("answers list_services and file_containing_symbol over %s", async (version) => {
    const [listed, byService, byMethod, unknown] = await reflect(servers[stack].port, version, [
      { messageRequest: { case: "listServices", value: "*" } },
      { messageRequest: { case: "fileContainingSymbol", value: "commerce.cart.v1.CartService" } },
      { messageRequest: { case: "fileContainingSymbol", value: "commerce.cart.v1.CatalogService.ListProducts" } },
      { messageRequest: { case: "fileContainingSymbol", value: "commerce.cart.v1.NoSuchService" } },
    ]);

    expect(listed?.case).toBe("listServicesResponse");
    const names = listed?.case === "listServicesResponse" ? listed.value.service.map((service) => service.name) : [];
    expect(names).toEqual(
      expect.arrayContaining([
        "commerce.cart.v1.CartService",
        "commerce.cart.v1.CatalogService",
        "commerce.cart.v1.StoreConfigService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]),
    );

    // The service's file comes with every file it imports, so a client can build the whole schema from the answer.
    expect(byService?.case).toBe("fileDescriptorResponse");
    const files = byService?.case === "fileDescriptorResponse" ? byService.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes)) : [];
    expect(files[0]?.name).toBe("commerce/cart/v1/cart_service.proto");
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: dependenciesFirst(files) }));
    const getCart = registry.getService("commerce.cart.v1.CartService")?.methods.find((method) => method.name === "GetCart");
    expect(getCart?.input.typeName).toBe("commerce.cart.v1.GetCartRequest");
    expect(getCart?.output.field.cart?.message?.typeName).toBe("commerce.cart.v1.Cart");

    // A method names its service's file; files already sent on this stream are not sent again.
    expect(byMethod?.case).toBe("fileDescriptorResponse");
    const catalogFiles = byMethod?.case === "fileDescriptorResponse" ? byMethod.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name) : [];
    expect(catalogFiles[0]).toBe("commerce/cart/v1/catalog_service.proto");
    expect(catalogFiles.filter((name) => files.some((file) => file.name === name))).toEqual([]);

    expect(unknown).toEqual({ case: "errorResponse", value: expect.objectContaining({ errorCode: Code.NotFound }) });
  });
});
