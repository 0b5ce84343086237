import { create, toJson } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CartSchema } from "../../gen/commerce/cart/v1/cart_pb.js";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { createCartEventDescriber } from "../../src/service/cart-events.js";
import { CartRepository } from "../../src/storage/cart-repository.js";
import { connectDatabase, type Database } from "../../src/storage/database.js";
import { uuidv7 } from "../../src/storage/ids.js";
import { adminToken, customerToken } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { type GrpcJsClient, grpcJsClient } from "../support/grpc-js-client.js";
import { connectErrorOfGrpcJs, violatedFields } from "../support/rpc-errors.js";
import { startServer, type TestServer } from "../support/server.js";

let server: TestServer;
let grpcJs: GrpcJsClient;
let database: Database;
const customerId = "read-mask-alice";
let cartId: string;
/** The whole cart, as GetCart answers without a mask. */
let full: ReturnType<typeof create<typeof CartSchema>>;

const mask = (...paths: string[]) => create(FieldMaskSchema, { paths });
const connectClients = () =>
  Object.entries(connectTransports(server.baseUrl)).map(([name, transport]) => [name, clientFor(CartService, transport)] as const);

beforeAll(async () => {
  server = await startServer();
  grpcJs = grpcJsClient("CartService", server.port);
  database = connectDatabase({ url: inject("databaseUrl"), poolSize: 1, statementTimeoutMs: 5000, lockTimeoutMs: 3000 });
  const transport = connectTransports(server.baseUrl)["connect+proto (HTTP/2)"]!;
  await clientFor(CatalogService, transport).upsertProduct({
    product: { id: "read-mask-mug", title: "Mug", active: true, prices: [{ currency: "USD", amountCents: 1299n }] },
  });
  const carts = clientFor(CartService, transport);
  const { cart } = await carts.createCart({ customerId, email: "alice@example.com", items: [{ productId: "read-mask-mug", quantity: 2 }] });
  cartId = cart!.id;
  await carts.createCart({ customerId });
  full = (await carts.getCart({ id: cartId })).cart!;
});

afterAll(async () => {
  grpcJs?.close();
  await database?.close();
  await server?.stop();
});

async function restGet(path: string, token = adminToken) {
  const response = await fetch(`${server.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
  return { status: response.status, body: (await response.json()) as any };
}

describe("GetCart with a read mask", () => {
  it("returns only the asked fields over Connect, gRPC-Web and connect-node gRPC", async () => {
    for (const [name, carts] of connectClients()) {
      const { cart } = await carts.getCart({ id: cartId, readMask: mask("id", "total_cents", "items.product_id") });
      // Proto JSON without defaults: exactly the fields that are set.
      expect(toJson(CartSchema, cart!), name).toEqual({ id: cartId, totalCents: "2598", items: [{ productId: "read-mask-mug" }] });
    }
  });

  it("returns only the asked fields over native gRPC (@grpc/grpc-js)", async () => {
    const { cart } = await grpcJs.GetCart({ id: cartId, read_mask: { paths: ["id", "total_cents", "items.product_id"] } });
    expect(cart).toMatchObject({ id: cartId, total_cents: "2598", customer_id: "", email: "", status: "CART_STATUS_UNSPECIFIED" });
    expect(cart.items).toHaveLength(1);
    expect(cart.items[0]).toMatchObject({ product_id: "read-mask-mug", id: "", quantity: 0, unit_price_cents: "0", totals: null });
    expect(cart.totals).toBeNull();
    expect(cart.created_at).toBeNull();
  });

  it("returns exactly the asked fields over REST, with the snake_case paths of AIP-157 or JSON's lowerCamelCase", async () => {
    for (const query of ["read_mask=id,total_cents,items.product_id", "readMask=id,totalCents,items.productId"]) {
      const { status, body } = await restGet(`/v1/carts/${cartId}?${query}`);
      expect(status, query).toBe(200);
      // No zero values for what was left out: an absent key never reads as an empty email or a quantity of 0.
      expect(body, query).toEqual({ id: cartId, total_cents: "2598", items: [{ product_id: "read-mask-mug" }] });
    }
  });

  it("answers the fields that need neither lines nor amounts exactly as a full read does", async () => {
    const paths = ["id", "customer_id", "status", "email", "etag", "item_quantity", "expire_time", "created_at", "promo_codes"];
    const carts = clientFor(CartService, connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!);
    const { cart } = await carts.getCart({ id: cartId, readMask: mask(...paths) });
    const jsonNames = new Set(paths.map((path) => CartSchema.fields.find((field) => field.name === path)!.jsonName));
    const fullJson = toJson(CartSchema, full) as Record<string, unknown>;
    expect(toJson(CartSchema, cart!)).toEqual(Object.fromEntries(Object.entries(fullJson).filter(([key]) => jsonNames.has(key))));
    expect(cart!.itemQuantity).toBe(2);
    expect(cart!.expireTime).toBeDefined();
  });

  it("keeps everything for * and for an empty mask", async () => {
    const carts = clientFor(CartService, connectTransports(server.baseUrl)["connect+proto (HTTP/2)"]!);
    for (const readMask of [mask("*"), mask()]) {
      expect(toJson(CartSchema, (await carts.getCart({ id: cartId, readMask })).cart!)).toEqual(toJson(CartSchema, full));
    }
    expect((await restGet(`/v1/carts/${cartId}?read_mask=*`)).body.totals.total).toBe("2598");
  });

  it("leaves the whole cart to the reads after a masked one, though the service answers whole reads from the carts it holds", async () => {
    for (const [name, carts] of connectClients()) {
      await carts.getCart({ id: cartId, readMask: mask("id", "items.product_id") });
      expect(toJson(CartSchema, (await carts.getCart({ id: cartId })).cart!), name).toEqual(toJson(CartSchema, full));
    }
    await grpcJs.GetCart({ id: cartId, read_mask: { paths: ["id", "items.product_id"] } });
    const { cart } = await grpcJs.GetCart({ id: cartId });
    expect(cart.items[0]).toMatchObject({ product_id: "read-mask-mug", quantity: 2, unit_price_cents: "1299" });
    expect(cart.email).toBe("alice@example.com");
    await restGet(`/v1/carts/${cartId}?read_mask=id`);
    expect((await restGet(`/v1/carts/${cartId}`)).body.items[0].quantity).toBe(2);
  });

  it("still hides other customers' carts, with or without amounts", async () => {
    const mallory = clientFor(CartService, connectTransports(server.baseUrl, await customerToken("read-mask-mallory"))["connect+json (HTTP/1.1)"]!);
    for (const readMask of [mask("id"), mask("items")]) {
      await expect(mallory.getCart({ id: cartId, readMask })).rejects.toMatchObject({ code: Code.PermissionDenied });
    }
    const alice = clientFor(CartService, connectTransports(server.baseUrl, await customerToken(customerId))["connect+json (HTTP/1.1)"]!);
    expect((await alice.getCart({ id: cartId, readMask: mask("id") })).cart!.id).toBe(cartId);
  });

  it("reads neither the lines nor the amounts from the database when the mask asks for none of them", async () => {
    const carts = new CartRepository(database.sql, createCartEventDescriber(uuidv7), () => {});
    const summary = await carts.get(cartId, { amounts: false });
    expect(summary).toMatchObject({ id: cartId, customerId, itemQuantity: 2 });
    for (const part of ["lines", "totals", "shippingMethods"]) expect(summary).not.toHaveProperty(part);
    expect(await carts.get(cartId, { amounts: true })).toHaveProperty("totals.cart.total", 2598n);
  });
});

describe("ListCarts with a read mask", () => {
  it("masks every cart of the page, over Connect, gRPC-Web and both gRPC servers", async () => {
    const expected = [{ id: expect.any(String), status: "CART_STATUS_ACTIVE" }, { id: cartId, status: "CART_STATUS_ACTIVE" }];
    for (const [name, carts] of connectClients()) {
      const page = await carts.listCarts({ customerId, readMask: mask("id", "status") });
      expect(page.carts.map((cart) => toJson(CartSchema, cart)), name).toEqual(expected);
    }
    const grpcPage = await grpcJs.ListCarts({ customer_id: customerId, read_mask: { paths: ["id", "status"] } });
    expect(grpcPage.carts.map((cart: { id: string; status: string; email: string; items: unknown[] }) => [cart.status, cart.email, cart.items])).toEqual([
      ["CART_STATUS_ACTIVE", "", []],
      ["CART_STATUS_ACTIVE", "", []],
    ]);
  });

  it("returns exactly the asked fields of every cart over REST, selected zero values included, and the page token", async () => {
    const { status, body } = await restGet(`/v1/carts?customer_id=${customerId}&read_mask=id,total_cents,items.product_id&page_size=1`);
    expect(status).toBe(200);
    // The newest cart first: the empty one, whose total is a real 0.
    expect(body).toEqual({ carts: [{ id: expect.any(String), total_cents: "0", items: [] }], next_page_token: expect.any(String) });
    const next = await restGet(`/v1/carts?customer_id=${customerId}&readMask=id,totalCents,items.productId&page_token=${encodeURIComponent(body.next_page_token)}`);
    expect(next.body).toEqual({
      carts: [{ id: cartId, total_cents: "2598", items: [{ product_id: "read-mask-mug" }] }],
      next_page_token: "",
    });
  });
});

describe("unknown read mask paths", () => {
  const unknownPaths = ["id", "nope", "items.colour"];

  it("are refused with INVALID_ARGUMENT naming them over Connect, gRPC-Web and connect-node gRPC", async () => {
    for (const [name, carts] of connectClients()) {
      for (const call of [
        () => carts.getCart({ id: cartId, readMask: mask(...unknownPaths) }),
        () => carts.listCarts({ customerId, readMask: mask(...unknownPaths) }),
      ]) {
        const error = await call().catch((reason: unknown) => ConnectError.from(reason));
        expect(error, name).toBeInstanceOf(ConnectError);
        expect((error as ConnectError).code, name).toBe(Code.InvalidArgument);
        expect((error as ConnectError).rawMessage, name).toBe('read_mask: unknown field paths "nope", "items.colour" in commerce.cart.v1.Cart');
        expect(violatedFields(error as ConnectError)).toEqual(["read_mask"]);
      }
    }
  });

  it("are refused over native gRPC", async () => {
    const failure = (await grpcJs.GetCart({ id: cartId, read_mask: { paths: unknownPaths } }).catch((error: unknown) => error)) as ServiceError;
    expect(failure.code).toBe(Code.InvalidArgument);
    expect(failure.details).toContain('"nope", "items.colour"');
    expect(violatedFields(connectErrorOfGrpcJs(failure))).toEqual(["read_mask"]);
  });

  it("are refused over REST with 400 and the field violation", async () => {
    for (const path of [`/v1/carts/${cartId}?read_mask=id,nope,items.colour`, `/v1/carts?read_mask=id,nope,items.colour`]) {
      const { status, body } = await restGet(path);
      expect(status, path).toBe(400);
      expect(body).toEqual({
        error: "invalid_argument",
        message: 'read_mask: unknown field paths "nope", "items.colour" in commerce.cart.v1.Cart',
        details: [{ field: "read_mask", rule: "read_mask.known_paths", message: 'unknown field paths "nope", "items.colour" in commerce.cart.v1.Cart' }],
      });
    }
  });
});
