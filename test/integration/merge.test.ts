import { fromJson, type JsonObject, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { ServiceError } from "@grpc/grpc-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { CartSchema } from "../../gen/commerce/cart/v1/cart_pb.js";
import {
  CartService,
  MergeCartsRequestSchema,
  MergeCartsResponseSchema,
  TransferCartRequestSchema,
  TransferCartResponseSchema,
} from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { StoreConfigService } from "../../gen/commerce/cart/v1/store_config_service_pb.js";
import { adminToken, customerToken } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { type GrpcJsClient, grpcJsClient } from "../support/grpc-js-client.js";
import { type HeldLock, holdCartLock } from "../support/row-locks.js";
import { connectErrorOfGrpcJs } from "../support/rpc-errors.js";
import { startServer, type TestServer } from "../support/server.js";

/**
 * TransferCart and MergeCarts, guest to customer, over native gRPC
 * (@grpc/grpc-js), Connect and REST. Customers are "merge-…", guests
 * "guest:merge-…", so the snapshot sees only this file's carts.
 */

const maxLines = 6;
const maxLineQuantity = 10;
const missingCartId = "0190a000-0000-7000-8000-00000000beef";

let server: TestServer;
let sql: postgres.Sql;
const admin = () => connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!;
const adminCarts = () => clientFor(CartService, admin());

const prices: Record<string, { currency: string; amountCents: bigint; minQuantity?: number }[]> = {
  "merge-mug": [{ currency: "USD", amountCents: 300n }],
  "merge-tee": [
    { currency: "USD", amountCents: 1000n },
    { currency: "USD", amountCents: 800n, minQuantity: 3 },
  ],
  "merge-pin": [{ currency: "USD", amountCents: 100n }],
  "merge-cap": [{ currency: "USD", amountCents: 700n }],
  "merge-bag": [{ currency: "USD", amountCents: 1500n }],
  "merge-socks": [{ currency: "USD", amountCents: 500n }],
  "merge-hat": [{ currency: "USD", amountCents: 900n }],
};

async function upsertProduct(id: string, extra: { active?: boolean; salesChannelIds?: string[] } = {}) {
  const productPrices = prices[id] ?? [{ currency: "USD", amountCents: 400n }];
  await clientFor(CatalogService, admin()).upsertProduct({ product: { id, title: id, active: true, prices: productPrices, ...extra } });
}

beforeAll(async () => {
  server = await startServer({ MAX_LINES_PER_CART: String(maxLines), MAX_LINE_QUANTITY: String(maxLineQuantity) });
  // Up to two connections holding row locks, and one to look at them.
  sql = postgres(inject("databaseUrl"), { max: 3, onnotice: () => {} });
  await clientFor(StoreConfigService, admin()).upsertSalesChannel({ salesChannel: { id: "merge-app", name: "App" } });
  for (const id of Object.keys(prices)) await upsertProduct(id);
});

afterAll(async () => {
  await sql?.end();
  await server?.stop();
});

/** A cart in the proto JSON shape (proto field names, enums by name, int64 as strings), whatever the protocol. */
interface CartView {
  id: string;
  customer_id: string;
  status: string;
  etag: string;
  merged_into_cart_id: string;
  item_quantity: number;
  total_cents: string;
  items: { id: string; product_id: string; quantity: number; unit_price_cents: string }[];
}

interface ReportView {
  source_cart_id: string;
  target_cart_id: string;
  lines: { product_id: string; source_quantity: number; quantity: number; outcome: string; line_item_id: string; reason: string }[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the three clients' JSON is picked field by field
type Json = any;

const protoJson = { useProtoFieldName: true, alwaysEmitImplicit: true };

const cartView = (cart: Json): CartView => ({
  id: cart.id,
  customer_id: cart.customer_id,
  status: cart.status,
  etag: cart.etag,
  merged_into_cart_id: cart.merged_into_cart_id,
  item_quantity: cart.item_quantity,
  total_cents: String(cart.total_cents),
  items: cart.items.map((item: Json) => ({
    id: item.id,
    product_id: item.product_id,
    quantity: item.quantity,
    unit_price_cents: String(item.unit_price_cents),
  })),
});

const reportView = (report: Json): ReportView => ({
  source_cart_id: report.source_cart_id,
  target_cart_id: report.target_cart_id,
  lines: report.lines.map((line: Json) => ({
    product_id: line.product_id,
    source_quantity: line.source_quantity,
    quantity: line.quantity,
    outcome: line.outcome,
    line_item_id: line.line_item_id,
    reason: line.reason,
  })),
});

interface TransferRequest {
  id: string;
  customer_id: string;
  etag?: string;
}

interface MergeRequest {
  source_cart_id: string;
  target_cart_id: string;
  etag?: string;
}

/** A refusal as every protocol reports it: the gRPC code name ("permission_denied") and the message. */
class Refused extends Error {
  constructor(
    readonly code: string,
    readonly reason: string,
  ) {
    super(`${code}: ${reason}`);
  }
}

/** TransferCart and MergeCarts over one protocol, each call with the caller's token. */
interface Protocol {
  transfer(token: string, request: TransferRequest): Promise<CartView>;
  merge(token: string, request: MergeRequest): Promise<{ cart: CartView; report: ReportView }>;
  close(): void;
}

function grpcJsProtocol(): Protocol {
  const clients = new Map<string, GrpcJsClient>();
  const client = (token: string) => {
    if (!clients.has(token)) clients.set(token, grpcJsClient("CartService", server.port, token));
    return clients.get(token)!;
  };
  const refused = (error: ServiceError) => {
    const converted = connectErrorOfGrpcJs(error);
    return new Refused(codeToString(converted.code), converted.rawMessage);
  };
  return {
    transfer: (token, request) =>
      client(token).TransferCart(request).then((response) => cartView(response.cart), (error) => Promise.reject(refused(error))),
    merge: (token, request) =>
      client(token)
        .MergeCarts(request)
        .then(
          (response) => ({ cart: cartView(response.cart), report: reportView(response.report) }),
          (error) => Promise.reject(refused(error)),
        ),
    close: () => clients.forEach((client) => client.close()),
  };
}

function connectProtocol(transportName: string): Protocol {
  const client = (token: string) => clientFor(CartService, connectTransports(server.baseUrl, token)[transportName]!);
  const refused = (error: unknown) => {
    const converted = ConnectError.from(error);
    return Promise.reject(new Refused(codeToString(converted.code), converted.rawMessage));
  };
  return {
    transfer: (token, request) =>
      client(token)
        .transferCart(fromJson(TransferCartRequestSchema, request as unknown as JsonObject))
        .then((response) => cartView((toJson(TransferCartResponseSchema, response, protoJson) as Json).cart), refused),
    merge: (token, request) =>
      client(token)
        .mergeCarts(fromJson(MergeCartsRequestSchema, request as unknown as JsonObject))
        .then((response) => {
          const body = toJson(MergeCartsResponseSchema, response, protoJson) as Json;
          return { cart: cartView(body.cart), report: reportView(body.report) };
        }, refused),
    close: () => {},
  };
}

function restProtocol(): Protocol {
  async function post(token: string, path: string, body: object): Promise<Json> {
    const response = await fetch(`${server.baseUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as Json;
    if (response.status !== 200) throw new Refused(answer.error, answer.message);
    return answer;
  }
  return {
    // response_body: "cart": the body is the cart itself.
    transfer: async (token, { id, ...body }) => cartView(await post(token, `/v1/carts/${id}:transfer`, body)),
    merge: async (token, { target_cart_id, ...body }) => {
      const answer = await post(token, `/v1/carts/${target_cart_id}:merge`, body);
      return { cart: cartView(answer.cart), report: reportView(answer.report) };
    },
    close: () => {},
  };
}

/** Every cart of this file with its lines, for "nothing changed" checks. */
async function snapshot() {
  return sql`
    select c.*, coalesce((select json_agg(l.* order by l.id) from line_items l where l.cart_id = c.id), '[]') as lines
    from carts c where c.customer_id like 'merge-%' or c.customer_id like 'guest:merge-%' order by c.id`;
}

/** The refusal a call ends in. */
async function refusalOf(call: Promise<unknown>): Promise<Refused> {
  try {
    await call;
  } catch (error) {
    if (error instanceof Refused) return error;
    throw error;
  }
  throw new Error("the call succeeded");
}

/** A cart of `customerId` holding `lines` (product → quantity), created by an admin; returns its id. */
async function cart(customerId: string, lines: Record<string, number> = {}): Promise<string> {
  const items = Object.entries(lines).map(([productId, quantity]) => ({ productId, quantity }));
  return (await adminCarts().createCart({ customerId, items })).cart!.id;
}

/** What GetCart answers for the cart (as an admin). */
async function stored(id: string): Promise<CartView> {
  const { cart: found } = await adminCarts().getCart({ id });
  return cartView(toJson(CartSchema, found!, protoJson));
}

const quantities = (view: CartView) => Object.fromEntries(view.items.map((item) => [item.product_id, item.quantity]));

/**
 * Deadlocks PostgreSQL detected in the test database so far. The backend that
 * detects one publishes the count when it next goes idle, before it answers
 * the rollback that follows, since it spent longer than the stats flush
 * interval (1 s) in that transaction waiting out deadlock_timeout.
 */
async function deadlocks(): Promise<number> {
  const [row] = await sql<[{ deadlocks: number }]>`select deadlocks::int from pg_stat_database where datname = current_database()`;
  return row.deadlocks;
}

/** Without tax, promotions or shipping, the total is the sum of the lines. */
function expectTotalsAddUp(view: CartView): void {
  const sum = view.items.reduce((total, item) => total + BigInt(item.quantity) * BigInt(item.unit_price_cents), 0n);
  expect(view.total_cents).toBe(String(sum));
  expect(view.item_quantity).toBe(view.items.reduce((total, item) => total + item.quantity, 0));
}

const denied = (id: string) => `cart ${id} does not exist or is not accessible with this token`;

describe.each([
  ["@grpc/grpc-js", "grpc-js", grpcJsProtocol],
  ["connect+json (HTTP/1.1)", "connect-json", () => connectProtocol("connect+json (HTTP/1.1)")],
  ["connect+proto (HTTP/2)", "connect-proto", () => connectProtocol("connect+proto (HTTP/2)")],
  ["REST", "rest", restProtocol],
])("guest carts over %s", (_name, tag, makeProtocol) => {
  let protocol: Protocol;
  const alice = `merge-alice-${tag}`;
  const bob = `merge-bob-${tag}`;
  let aliceToken: string;
  let guestCount = 0;
  /** A fresh guest id and its token. */
  const guest = async () => {
    const id = `guest:merge-${tag}-${++guestCount}`;
    return { id, token: await customerToken(id) };
  };

  beforeAll(async () => {
    protocol = makeProtocol();
    aliceToken = await customerToken(alice);
  });
  afterAll(() => protocol?.close());

  it("transfers a guest cart to the customer who signed in", async () => {
    const shopper = await guest();
    const guestCarts = clientFor(CartService, connectTransports(server.baseUrl, shopper.token)["connect+json (HTTP/1.1)"]!);
    const { cart: created } = await guestCarts.createCart({ customerId: shopper.id, items: [{ productId: "merge-mug", quantity: 2 }] });

    const taken = await protocol.transfer(aliceToken, { id: created!.id, customer_id: alice });
    expect(taken).toMatchObject({ id: created!.id, customer_id: alice, status: "CART_STATUS_ACTIVE", etag: String(Number(created!.etag) + 1) });
    expect(quantities(taken)).toEqual({ "merge-mug": 2 });
    expect(await stored(created!.id)).toEqual(taken);
    // The guest's token no longer reaches it.
    const guestRead = await guestCarts.getCart({ id: created!.id }).then(() => undefined, (error) => ConnectError.from(error));
    expect(guestRead?.code).toBe(Code.PermissionDenied);
    // Transferring it to its owner again changes nothing.
    expect(await protocol.transfer(aliceToken, { id: created!.id, customer_id: alice })).toEqual(taken);
  });

  it("lets an internal service (carts:admin) give any cart to anyone and merge any two carts", async () => {
    const bobsCart = await cart(bob, { "merge-pin": 1 });
    const given = await protocol.transfer(adminToken, { id: bobsCart, customer_id: alice });
    expect(given).toMatchObject({ id: bobsCart, customer_id: alice });
    const target = await cart(bob, { "merge-pin": 2 });
    const { cart: merged, report } = await protocol.merge(adminToken, { source_cart_id: bobsCart, target_cart_id: target });
    expect(quantities(merged)).toEqual({ "merge-pin": 3 });
    expect(report.lines.map((line) => line.outcome)).toEqual(["MERGE_OUTCOME_MERGED"]);
  });

  it("merges a guest cart into the customer's cart and reports every line", async () => {
    const retired = `merge-retired-${tag}`;
    const appOnly = `merge-app-only-${tag}`;
    await upsertProduct(retired);
    await upsertProduct(appOnly);
    const target = await cart(alice, { "merge-mug": 3, "merge-tee": 2, "merge-pin": 1, "merge-cap": 1, "merge-bag": 1 });
    const shopper = await guest();
    const source = await cart(shopper.id, { "merge-tee": 1, "merge-mug": 9, "merge-socks": 2, "merge-hat": 1, [retired]: 1, [appOnly]: 1 });
    // Since the guest added them, one product was retired and one is now sold only in the app.
    await upsertProduct(retired, { active: false });
    await upsertProduct(appOnly, { salesChannelIds: ["merge-app"] });
    const before = await stored(target);
    const lineOf = (productId: string) => before.items.find((item) => item.product_id === productId)!.id;

    const { cart: merged, report } = await protocol.merge(aliceToken, { source_cart_id: source, target_cart_id: target });

    const socksLine = merged.items.find((item) => item.product_id === "merge-socks")!.id;
    expect(report).toEqual({
      source_cart_id: source,
      target_cart_id: target,
      lines: [
        { product_id: "merge-tee", source_quantity: 1, quantity: 3, outcome: "MERGE_OUTCOME_MERGED", line_item_id: lineOf("merge-tee"), reason: "" },
        {
          product_id: "merge-mug",
          source_quantity: 9,
          quantity: 10,
          outcome: "MERGE_OUTCOME_CAPPED",
          line_item_id: lineOf("merge-mug"),
          reason: "quantity 12 of product merge-mug exceeds the maximum of 10 per line; 2 left out",
        },
        { product_id: "merge-socks", source_quantity: 2, quantity: 2, outcome: "MERGE_OUTCOME_MOVED", line_item_id: socksLine, reason: "" },
        {
          product_id: "merge-hat",
          source_quantity: 1,
          quantity: 0,
          outcome: "MERGE_OUTCOME_DROPPED",
          line_item_id: "",
          reason: `cart ${target} already has the maximum of ${maxLines} lines`,
        },
        { product_id: retired, source_quantity: 1, quantity: 0, outcome: "MERGE_OUTCOME_DROPPED", line_item_id: "", reason: `product ${retired} is not active` },
        {
          product_id: appOnly,
          source_quantity: 1,
          quantity: 0,
          outcome: "MERGE_OUTCOME_DROPPED",
          line_item_id: "",
          reason: `product ${appOnly} is not sold in sales channel default`,
        },
      ],
    });
    expect(merged.items.map((item) => [item.product_id, item.quantity, item.unit_price_cents])).toEqual([
      ["merge-mug", 10, "300"],
      // Three tees reach the 800 tier: merged lines are priced at their new quantity.
      ["merge-tee", 3, "800"],
      ["merge-pin", 1, "100"],
      ["merge-cap", 1, "700"],
      ["merge-bag", 1, "1500"],
      ["merge-socks", 2, "500"],
    ]);
    expect(merged.etag).toBe(String(Number(before.etag) + 1));
    expectTotalsAddUp(merged);
    expect(await stored(target)).toEqual(merged);

    // The source is merged into the target, keeps its lines as the record of what it held, and is frozen.
    const sourceAfter = await stored(source);
    expect(sourceAfter).toMatchObject({ status: "CART_STATUS_MERGED", merged_into_cart_id: target, customer_id: shopper.id });
    expect(sourceAfter.items).toHaveLength(6);
    const [row] = await sql`select expire_time from carts where id = ${source}`;
    expect(row!.expire_time).toBeNull();
  });

  describe("refusals change nothing", () => {
    const fixture = { ownCart: "", guestCart: "", bobCart: "", deletedCart: "", completedCart: "", mergedGuestCart: "", otherGuestCart: "" };

    beforeAll(async () => {
      fixture.ownCart = await cart(alice, { "merge-mug": 1 });
      fixture.guestCart = await cart((await guest()).id, { "merge-pin": 2 });
      fixture.otherGuestCart = await cart((await guest()).id, { "merge-cap": 1 });
      fixture.bobCart = await cart(bob, { "merge-tee": 1 });
      fixture.deletedCart = await cart(alice, { "merge-mug": 1 });
      await adminCarts().deleteCart({ id: fixture.deletedCart });
      // CompleteCart's outcome, written directly: what matters here is only the status.
      fixture.completedCart = await cart(alice, { "merge-mug": 1 });
      await sql`update carts set status = 'completed', expire_time = null where id = ${fixture.completedCart}`;
      fixture.mergedGuestCart = await cart((await guest()).id, { "merge-socks": 1 });
      await adminCarts().mergeCarts({ sourceCartId: fixture.mergedGuestCart, targetCartId: await cart(alice) });
    });

    const refusals: { name: string; send: () => Promise<unknown>; code: string; message: (() => string) | RegExp }[] = [
      {
        name: "transferring another customer's cart",
        send: () => protocol.transfer(aliceToken, { id: fixture.bobCart, customer_id: alice }),
        code: "permission_denied",
        message: () => denied(fixture.bobCart),
      },
      {
        name: "transferring a cart that does not exist",
        send: () => protocol.transfer(aliceToken, { id: missingCartId, customer_id: alice }),
        code: "permission_denied",
        message: () => denied(missingCartId),
      },
      {
        name: "transferring a guest cart to another customer",
        send: () => protocol.transfer(aliceToken, { id: fixture.guestCart, customer_id: bob }),
        code: "permission_denied",
        message: () => `a customer token may only transfer carts to its own customer_id (${alice})`,
      },
      {
        name: "transferring a deleted cart",
        send: () => protocol.transfer(aliceToken, { id: fixture.deletedCart, customer_id: alice }),
        code: "failed_precondition",
        message: () => `cart ${fixture.deletedCart} is deleted and can no longer be changed`,
      },
      {
        name: "transferring a completed cart",
        send: () => protocol.transfer(aliceToken, { id: fixture.completedCart, customer_id: alice }),
        code: "failed_precondition",
        message: () => `cart ${fixture.completedCart} is completed and can no longer be changed`,
      },
      {
        name: "transferring a merged guest cart",
        send: () => protocol.transfer(aliceToken, { id: fixture.mergedGuestCart, customer_id: alice }),
        code: "failed_precondition",
        message: () => `cart ${fixture.mergedGuestCart} is merged and can no longer be changed`,
      },
      {
        name: "transferring with a stale etag",
        send: () => protocol.transfer(aliceToken, { id: fixture.guestCart, customer_id: alice, etag: "99" }),
        code: "aborted",
        message: /was changed by another request: its etag is now 1, not 99/,
      },
      {
        name: "merging a cart into itself",
        send: () => protocol.merge(aliceToken, { source_cart_id: fixture.ownCart, target_cart_id: fixture.ownCart }),
        code: "invalid_argument",
        message: () => `cart ${fixture.ownCart} cannot be merged into itself`,
      },
      {
        name: "merging into another customer's cart",
        send: () => protocol.merge(aliceToken, { source_cart_id: fixture.guestCart, target_cart_id: fixture.bobCart }),
        code: "permission_denied",
        message: () => denied(fixture.bobCart),
      },
      {
        name: "merging from another customer's cart",
        send: () => protocol.merge(aliceToken, { source_cart_id: fixture.bobCart, target_cart_id: fixture.ownCart }),
        code: "permission_denied",
        message: () => denied(fixture.bobCart),
      },
      {
        name: "merging from a cart that does not exist",
        send: () => protocol.merge(aliceToken, { source_cart_id: missingCartId, target_cart_id: fixture.ownCart }),
        code: "permission_denied",
        message: () => denied(missingCartId),
      },
      {
        name: "merging into a guest cart that is not the caller's",
        send: () => protocol.merge(aliceToken, { source_cart_id: fixture.ownCart, target_cart_id: fixture.guestCart }),
        code: "permission_denied",
        message: () => denied(fixture.guestCart),
      },
      {
        name: "merging a merged guest cart again",
        send: () => protocol.merge(aliceToken, { source_cart_id: fixture.mergedGuestCart, target_cart_id: fixture.ownCart }),
        code: "failed_precondition",
        message: () => `cart ${fixture.mergedGuestCart} is merged and can no longer be changed`,
      },
      {
        name: "merging into a deleted cart",
        send: () => protocol.merge(aliceToken, { source_cart_id: fixture.guestCart, target_cart_id: fixture.deletedCart }),
        code: "failed_precondition",
        message: () => `cart ${fixture.deletedCart} is deleted and can no longer be changed`,
      },
      {
        name: "merging from a completed cart",
        send: () => protocol.merge(aliceToken, { source_cart_id: fixture.completedCart, target_cart_id: fixture.ownCart }),
        code: "failed_precondition",
        message: () => `cart ${fixture.completedCart} is completed and can no longer be changed`,
      },
      {
        name: "merging into a cart whose etag is stale",
        send: () => protocol.merge(aliceToken, { source_cart_id: fixture.guestCart, target_cart_id: fixture.ownCart, etag: "99" }),
        code: "aborted",
        message: /was changed by another request: its etag is now 1, not 99/,
      },
      {
        name: "an internal service merging from a cart that does not exist",
        send: () => protocol.merge(adminToken, { source_cart_id: missingCartId, target_cart_id: fixture.ownCart }),
        code: "not_found",
        message: () => `cart ${missingCartId} does not exist`,
      },
      {
        name: "merging from a cart id that is not a UUID",
        send: () => protocol.merge(aliceToken, { source_cart_id: "guest-cart", target_cart_id: fixture.ownCart }),
        code: "invalid_argument",
        message: /source_cart_id/,
      },
    ];

    it.each(refusals)("$name", async (refusal) => {
      const before = await snapshot();
      const error = await refusalOf(refusal.send());
      const message = typeof refusal.message === "function" ? refusal.message() : refusal.message;
      expect({ code: error.code, message: error.reason }).toEqual({
        code: refusal.code,
        message: typeof message === "string" ? message : expect.stringMatching(message),
      });
      expect(await snapshot()).toEqual(before);
    });
  });

  it("merges ten guest carts into one cart in parallel and loses nothing", async () => {
    const target = await cart(alice);
    const sources = await Promise.all(
      Array.from({ length: 10 }, async () => cart((await guest()).id, { "merge-mug": 1, "merge-tee": 1 })),
    );
    const results = await Promise.all(sources.map((source) => protocol.merge(aliceToken, { source_cart_id: source, target_cart_id: target })));

    const final = await stored(target);
    expect(quantities(final)).toEqual({ "merge-mug": 10, "merge-tee": 10 });
    expect(final.etag).toBe(String(1 + sources.length));
    expectTotalsAddUp(final);
    // Each product became a line once; every other merge added to it.
    const outcomes = results.flatMap(({ report }) => report.lines.map((line) => `${line.product_id} ${line.outcome}`)).sort();
    expect(outcomes).toEqual(
      ["merge-mug", "merge-tee"].flatMap((product) => [
        ...Array(9).fill(`${product} MERGE_OUTCOME_MERGED`),
        `${product} MERGE_OUTCOME_MOVED`,
      ]).sort(),
    );
    const merged = await sql`select merged_into_cart_id from carts where id = any(${sources}::uuid[]) and status = 'merged'`;
    expect(merged.map((row) => row.merged_into_cart_id)).toEqual(Array(10).fill(target));
    // The stored lines agree with the stored totals.
    const [stored_] = await sql`
      select c.total::text, (select sum(l.quantity::int8 * l.unit_price)::text from line_items l where l.cart_id = c.id) as line_total
      from carts c where c.id = ${target}`;
    expect(stored_!.total).toBe(stored_!.line_total);
  });

  it("merges one guest cart once when two merges race", async () => {
    const target = await cart(alice, { "merge-mug": 1 });
    const source = await cart((await guest()).id, { "merge-socks": 2 });
    const results = await Promise.allSettled([1, 2].map(() => protocol.merge(aliceToken, { source_cart_id: source, target_cart_id: target })));

    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
    const [rejected] = results.filter((result): result is PromiseRejectedResult => result.status === "rejected");
    expect(rejected!.reason).toMatchObject({ code: "failed_precondition", reason: `cart ${source} is merged and can no longer be changed` });
    const final = await stored(target);
    expect(quantities(final)).toEqual({ "merge-mug": 1, "merge-socks": 2 });
    expectTotalsAddUp(final);
  });

  it("merges one guest cart into two carts at once only once", async () => {
    const targets = [await cart(alice, { "merge-mug": 1 }), await cart(alice, { "merge-pin": 1 })];
    const source = await cart((await guest()).id, { "merge-socks": 2 });
    // Both merges have to be under way, waiting for the guest cart, before either may take it.
    const lock = await holdCartLock(sql, source);
    const settled = Promise.allSettled(targets.map((target) => protocol.merge(aliceToken, { source_cart_id: source, target_cart_id: target })));
    try {
      await vi.waitFor(async () => expect(await lock.waiting()).toBe(2), { timeout: 10_000, interval: 50 });
    } finally {
      await lock.release();
    }
    const results = await settled;

    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
    const [rejected] = results.filter((result): result is PromiseRejectedResult => result.status === "rejected");
    expect(rejected!.reason).toMatchObject({ code: "failed_precondition", reason: `cart ${source} is merged and can no longer be changed` });
    const socks = await Promise.all(targets.map(async (target) => quantities(await stored(target))["merge-socks"] ?? 0));
    expect(socks.reduce((sum, quantity) => sum + quantity, 0)).toBe(2);
  });

  it("merges two carts into each other at once without deadlock: one wins, nothing is lost", async () => {
    const first = await cart(alice, { "merge-mug": 1 });
    const second = await cart(alice, { "merge-pin": 1 });
    const deadlocksBefore = await deadlocks();
    // Each cart is held on its own and let go after the other, so that merges
    // locking the carts in opposite orders would surely each take one cart and
    // wait for the other, whichever of them runs first.
    const [firstLock, secondLock] = [await holdCartLock(sql, first), await holdCartLock(sql, second)];
    const settled = Promise.allSettled([
      protocol.merge(aliceToken, { source_cart_id: first, target_cart_id: second }),
      protocol.merge(aliceToken, { source_cart_id: second, target_cart_id: first }),
    ]);
    const bothWaitingFor = async (locks: HeldLock[]) => {
      const counts = await Promise.all(locks.map((lock) => lock.waiting()));
      expect(counts.reduce((sum, count) => sum + count, 0)).toBe(2);
    };
    try {
      await vi.waitFor(() => bothWaitingFor([firstLock, secondLock]), { timeout: 10_000, interval: 50 });
      await secondLock.release();
      await vi.waitFor(() => bothWaitingFor([firstLock]), { timeout: 10_000, interval: 50 });
    } finally {
      await secondLock.release();
      await firstLock.release();
    }
    const results = await settled;
    // The service retries a deadlocked transaction, so the answers alone would not show one; PostgreSQL counts it.
    expect(await deadlocks()).toBe(deadlocksBefore);

    const fulfilled = results.filter((result) => result.status === "fulfilled");
    expect(fulfilled).toHaveLength(1);
    const { cart: survivor } = fulfilled[0]!.value;
    expect(quantities(survivor)).toEqual({ "merge-mug": 1, "merge-pin": 1 });
    const [rejected] = results.filter((result): result is PromiseRejectedResult => result.status === "rejected");
    expect(rejected!.reason).toMatchObject({ code: "failed_precondition", reason: /is merged and can no longer be changed/ });
  });
});
