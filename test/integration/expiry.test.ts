import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceError } from "@grpc/grpc-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Cart, CartStatus } from "../../gen/commerce/cart/v1/cart_pb.js";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import type { Logger } from "../../src/logger.js";
import { CartExpiry } from "../../src/service/cart-expiry.js";
import { createCartEventDescriber } from "../../src/service/cart-events.js";
import { CartExpiryRepository } from "../../src/storage/cart-expiry-repository.js";
import { CartRepository } from "../../src/storage/cart-repository.js";
import { connectDatabase, type Database } from "../../src/storage/database.js";
import { uuidv7 } from "../../src/storage/ids.js";
import { adminToken } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { type GrpcJsClient, grpcJsClient } from "../support/grpc-js-client.js";
import { startServer, type TestServer } from "../support/server.js";

/**
 * Expiry in a database of its own: the sweepers these tests run expire every
 * due cart they find, and nothing else may sweep while they count.
 */
const databaseName = `${new URL(inject("databaseUrl")).pathname.slice(1)}_expiry`;
const databaseUrl = Object.assign(new URL(inject("databaseUrl")), { pathname: `/${databaseName}` }).toString();
const admin = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });

const hour = 3_600_000;
const cartTtlHours = 48;
const emptyCartTtlHours = 2;

let server: TestServer;
let database: Database;
let grpcJs: GrpcJsClient;
const carts = () => clientFor(CartService, connectTransports(server.baseUrl)["connect+proto (HTTP/2)"]!);

const connect = (poolSize: number) => connectDatabase({ url: databaseUrl, poolSize, statementTimeoutMs: 5000, lockTimeoutMs: 3000 });
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const sweeper = (db: Database, batchSize: number, now = () => new Date(), log = quiet) =>
  new CartExpiry({ carts: expiryRepository(db), now, batchSize, log });
const expiryRepository = (db: Database) => new CartExpiryRepository(db.sql, new CartRepository(db.sql, createCartEventDescriber(uuidv7), () => {}));

beforeAll(async () => {
  await admin.unsafe(`create database ${databaseName}`);
  // The service's own sweeper runs once at start-up (nothing is due then) and not again during these tests.
  server = await startServer({
    DATABASE_URL: databaseUrl,
    CART_TTL_HOURS: String(cartTtlHours),
    EMPTY_CART_TTL_HOURS: String(emptyCartTtlHours),
    CART_SWEEP_INTERVAL_SECONDS: "86400",
  });
  database = connect(4);
  grpcJs = grpcJsClient("CartService", server.port);
  const catalog = clientFor(CatalogService, connectTransports(server.baseUrl)["connect+proto (HTTP/2)"]!);
  for (const id of ["expiry-mug", "expiry-tee"]) {
    await catalog.upsertProduct({ product: { id, title: id, active: true, prices: [{ currency: "USD", amountCents: 1000n }] } });
  }
});

afterAll(async () => {
  grpcJs?.close();
  await database?.close();
  await server?.stop();
  await admin.unsafe(`drop database if exists ${databaseName} with (force)`);
  await admin.end();
});

/** Moves a cart's expire_time into the past, as if its TTL had run out. */
async function backdate(ids: readonly string[]): Promise<void> {
  await database.sql`update carts set expire_time = now() - interval '1 minute' where id = any(${ids as string[]}::uuid[])`;
}

/** Everything the database holds about a cart: its row and its lines. */
async function stored(id: string) {
  const [cart] = await database.sql`select to_jsonb(c) as row from carts c where id = ${id}`;
  const lines = await database.sql`select to_jsonb(l) as row from line_items l where cart_id = ${id} order by id`;
  return { cart: cart?.row as Record<string, unknown> | undefined, lines: lines.map((line) => line.row) };
}

/** `count` copies of the cart `templateId` for `customerId`, each expiring at `expireTime` (SQL), in one statement. */
async function copies(templateId: string, customerId: string, count: number, expireTime: string): Promise<string[]> {
  const rows = await database.sql.unsafe<{ id: string }[]>(
    `insert into carts
     select (jsonb_populate_record(null::carts, to_jsonb(c) || jsonb_build_object(
       'id', gen_random_uuid(), 'customer_id', $2::text, 'expire_time', ${expireTime} - n * interval '1 second'))).*
     from carts c, generate_series(1, $3::int) n where c.id = $1
     returning id`,
    [templateId, customerId, count],
  );
  return rows.map((row) => row.id);
}

describe("expire_time", () => {
  it("is the last change plus the TTL of the cart's state, and every change moves it", async () => {
    const client = carts();
    /** Checks that the cart expires `ttlHours` after its last change; its expire time in ms. */
    const expectExpiry = (cart: Cart | undefined, ttlHours: number) => {
      const expireTime = timestampDate(cart!.expireTime!).getTime();
      expect(expireTime - timestampDate(cart!.updatedAt!).getTime()).toBe(ttlHours * hour);
      return expireTime;
    };
    const { cart: created } = await client.createCart({ customerId: "expiry-ttl" });
    const emptyExpiry = expectExpiry(created, emptyCartTtlHours);
    const { cart: filled } = await client.addLineItem({ cartId: created!.id, productId: "expiry-mug", quantity: 1 });
    const filledExpiry = expectExpiry(filled, cartTtlHours);
    expect(filledExpiry).toBeGreaterThan(emptyExpiry);
    const { cart: changed } = await client.updateLineItem({ cartId: created!.id, itemId: filled!.items[0]!.id, quantity: 3 });
    expect(expectExpiry(changed, cartTtlHours)).toBeGreaterThan(filledExpiry);
    const { cart: emptied } = await client.removeLineItem({ cartId: created!.id, itemId: filled!.items[0]!.id });
    expectExpiry(emptied, emptyCartTtlHours);
    // The database holds what the answers said.
    const { cart: row } = await stored(created!.id);
    expect(new Date(row!.expire_time as string).getTime()).toBe(timestampDate(emptied!.expireTime!).getTime());
    // A cart created with lines gets the longer TTL at once.
    expectExpiry((await client.createCart({ customerId: "expiry-ttl", items: [{ productId: "expiry-tee", quantity: 1 }] })).cart, cartTtlHours);
  });
});

describe("a cart past its expire_time", () => {
  it("refuses every change with FAILED_PRECONDITION before the sweeper has marked it, and nothing changes", async () => {
    const client = carts();
    const { cart } = await client.createCart({ customerId: "expiry-due", items: [{ productId: "expiry-mug", quantity: 2 }] });
    const id = cart!.id;
    const itemId = cart!.items[0]!.id;
    await backdate([id]);
    // As every writer of a cart does: GetCart answers the cart this process last answered while its version stays.
    await database.sql`update carts set version = version + 1 where id = ${id}`;
    const before = await stored(id);
    const attempts: [string, () => Promise<unknown>][] = [
      ["AddLineItem", () => client.addLineItem({ cartId: id, productId: "expiry-tee", quantity: 1 })],
      ["UpdateLineItem", () => client.updateLineItem({ cartId: id, itemId, quantity: 5 })],
      ["RemoveLineItem", () => client.removeLineItem({ cartId: id, itemId })],
      ["UpdateCart", () => client.updateCart({ cart: { id, email: "late@example.com" }, updateMask: { paths: ["email"] } })],
      ["ApplyPromotionCodes", () => client.applyPromotionCodes({ cartId: id, codes: ["NOPE"] })],
      ["DeleteCart", () => client.deleteCart({ id })],
      ["TransferCart", () => client.transferCart({ id, customerId: "someone-else" })],
      ["CompleteCart", () => client.completeCart({ id })],
      ["gRPC AddLineItem", () => grpcJs.AddLineItem({ cart_id: id, product_id: "expiry-tee", quantity: 1 })],
    ];
    for (const [name, attempt] of attempts) {
      const failure = await attempt().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure, name).toBeDefined();
      const { code, message } =
        failure instanceof ConnectError
          ? { code: failure.code, message: failure.rawMessage }
          : { code: (failure as ServiceError).code as number, message: (failure as ServiceError).details };
      expect(code, name).toBe(Code.FailedPrecondition);
      expect(message, name).toMatch(new RegExp(`^cart ${id} expired at \\S+ and can no longer be changed$`));
    }
    const rest = await fetch(`${server.baseUrl}/v1/carts/${id}/items`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ product_id: "expiry-tee", quantity: 1 }),
    });
    expect(rest.status).toBe(400);
    expect(await rest.json()).toMatchObject({ error: "failed_precondition", message: expect.stringContaining("expired at") });
    expect(await stored(id)).toEqual(before);
    // Still active until the sweeper comes by, with its expire_time in the past.
    const { cart: read } = await client.getCart({ id });
    expect(read!.status).toBe(CartStatus.ACTIVE);
    expect(timestampDate(read!.expireTime!).getTime()).toBeLessThan(Date.now());
  });
});

describe("the expiry sweeper", () => {
  it("marks due carts CART_STATUS_EXPIRED, one version later, keeping the expire_time they passed, and they keep refusing changes", async () => {
    const client = carts();
    const { cart: due } = await client.createCart({ customerId: "expiry-sweep", items: [{ productId: "expiry-mug", quantity: 1 }] });
    const { cart: notDue } = await client.createCart({ customerId: "expiry-sweep" });
    await backdate([due!.id]);
    const notDueBefore = await stored(notDue!.id);
    const logged: { message: string; fields?: Record<string, unknown> }[] = [];
    const log: Logger = { ...quiet, info: (message, fields) => void logged.push({ message, fields }) };
    const sweptAt = new Date();
    const count = await sweeper(database, 10, () => sweptAt, log).expireDue();
    expect(count).toBeGreaterThanOrEqual(1);
    expect(logged).toEqual([{ message: "carts expired", fields: { count } }]);

    const { cart } = await client.getCart({ id: due!.id });
    expect(cart!.status).toBe(CartStatus.EXPIRED);
    expect(timestampDate(cart!.expireTime!).getTime()).toBeLessThan(sweptAt.getTime());
    expect(cart!.etag).toBe(String(Number(due!.etag) + 1));
    expect(timestampDate(cart!.updatedAt!)).toEqual(sweptAt);
    expect(cart!.items.map((item) => item.productId)).toEqual(["expiry-mug"]);
    const listed = await client.listCarts({ customerId: "expiry-sweep", status: CartStatus.EXPIRED });
    expect(listed.carts.map((listedCart) => listedCart.id)).toEqual([due!.id]);
    expect(await stored(notDue!.id)).toEqual(notDueBefore);

    const before = await stored(due!.id);
    await expect(client.addLineItem({ cartId: due!.id, productId: "expiry-tee", quantity: 1 })).rejects.toMatchObject({
      code: Code.FailedPrecondition,
      rawMessage: `cart ${due!.id} is expired and can no longer be changed`,
    });
    expect(await stored(due!.id)).toEqual(before);
    // Nothing is due any more.
    expect(await sweeper(database, 10, () => sweptAt, log).expireDue()).toBe(0);
    expect(logged).toHaveLength(1);
  });

  it("run by two processes at once expires every due cart exactly once, in small batches, and no other", async () => {
    await sweeper(database, 500).expireDue(); // leftovers of other tests
    const { cart: template } = await carts().createCart({ customerId: "expiry-bulk" });
    const dueIds = await copies(template!.id, "expiry-bulk-due", 1000, "now()");
    const laterIds = await copies(template!.id, "expiry-bulk-later", 50, "now() + interval '1 hour'");
    const laterBefore = await database.sql`select id, status, version, expire_time::text from carts where id = any(${laterIds}::uuid[]) order by id`;
    const [first, second] = [connect(1), connect(1)];
    try {
      const counts = await Promise.all([sweeper(first, 25).expireDue(), sweeper(second, 25).expireDue()]);
      expect(counts[0] + counts[1]).toBe(1000);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
    const due = await database.sql`select status, version, expire_time from carts where id = any(${dueIds}::uuid[])`;
    expect(due).toHaveLength(1000);
    // Each one version later: expired by exactly one sweeper, once.
    expect(due.every((row) => row.status === "expired" && Number(row.version) === 2 && row.expire_time !== null)).toBe(true);
    expect(await database.sql`select id, status, version, expire_time::text from carts where id = any(${laterIds}::uuid[]) order by id`).toEqual(
      laterBefore,
    );
  });

  it("skips a cart that a change holds locked instead of waiting for it, and takes it on a later pass", async () => {
    await sweeper(database, 500).expireDue();
    const client = carts();
    const [{ cart: busy }, { cart: idle }] = await Promise.all([
      client.createCart({ customerId: "expiry-locked" }),
      client.createCart({ customerId: "expiry-locked" }),
    ]);
    await backdate([busy!.id, idle!.id]);
    const statuses = async () =>
      Object.fromEntries(
        (await database.sql`select id, status from carts where id in (${busy!.id}, ${idle!.id})`).map((row) => [row.id, row.status]),
      );
    const holder = connect(1);
    try {
      // Locked the way every change locks its cart. Waiting for it would end in lock_timeout's error.
      await holder.sql.begin(async (tx) => {
        await tx`select 1 from carts where id = ${busy!.id} for update`;
        expect(await sweeper(database, 10).expireDue()).toBe(1);
      });
    } finally {
      await holder.close();
    }
    expect(await statuses()).toEqual({ [busy!.id]: "active", [idle!.id]: "expired" });
    expect(await sweeper(database, 10).expireDue()).toBe(1);
    expect(await statuses()).toEqual({ [busy!.id]: "expired", [idle!.id]: "expired" });
  });

  it("hands each due cart to exactly one of two concurrent batch loops", async () => {
    await sweeper(database, 500).expireDue();
    const { cart: template } = await carts().createCart({ customerId: "expiry-ids" });
    const dueIds = await copies(template!.id, "expiry-ids-due", 1000, "now()");
    const [first, second] = [connect(1), connect(1)];
    const now = new Date();
    /** Batches of 20 until one comes back short; every id it was handed. */
    const loop = async (db: Database) => {
      const repository = expiryRepository(db);
      const taken: string[] = [];
      for (let batch = await repository.expireDue(now, 20); ; batch = await repository.expireDue(now, 20)) {
        taken.push(...batch);
        if (batch.length < 20) return taken;
      }
    };
    try {
      const [a, b] = await Promise.all([loop(first), loop(second)]);
      expect(a.filter((id) => b.includes(id))).toEqual([]);
      expect([...a, ...b].sort()).toEqual([...dueIds].sort());
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it("deletes carts expired longer than the retention, with their lines, once each, and keeps every other cart", async () => {
    const client = carts();
    await sweeper(database, 500).expireDue();
    const retentionMs = 30 * 24 * hour;
    const { cart: old } = await client.createCart({ customerId: "expiry-retention", items: [{ productId: "expiry-mug", quantity: 1 }] });
    const { cart: recent } = await client.createCart({ customerId: "expiry-retention", items: [{ productId: "expiry-mug", quantity: 1 }] });
    const { cart: active } = await client.createCart({ customerId: "expiry-retention" });
    await backdate([old!.id, recent!.id]);
    await sweeper(database, 500).expireDue();
    // Swept just now, but lapsed long ago: the sweep's updated_at does not count, the expire_time does.
    await database.sql`update carts set expire_time = now() - interval '31 days' where id = ${old!.id}`;
    const manyOld = await copies(old!.id, "expiry-retention-bulk", 300, "now() - interval '40 days'");
    const [sweptLately] = await database.sql<{ n: number }[]>`
      select count(*)::int as n from carts where id = any(${[old!.id, ...manyOld]}::uuid[]) and updated_at > now() - interval '1 day'`;
    expect(sweptLately!.n).toBe(301);
    const keptBefore = await Promise.all([recent!.id, active!.id].map(stored));

    const [first, second] = [connect(1), connect(1)];
    try {
      const counts = await Promise.all([
        sweeper(first, 25).deleteExpiredLongerThan(retentionMs),
        sweeper(second, 25).deleteExpiredLongerThan(retentionMs),
      ]);
      expect(counts[0] + counts[1]).toBe(301);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
    expect(await stored(old!.id)).toEqual({ cart: undefined, lines: [] });
    expect(await database.sql`select id from carts where id = any(${manyOld}::uuid[])`).toHaveLength(0);
    expect(await Promise.all([recent!.id, active!.id].map(stored))).toEqual(keptBefore);
    await expect(client.getCart({ id: old!.id })).rejects.toMatchObject({ code: Code.NotFound });
  });

  it("runs in the service at start-up and every CART_SWEEP_INTERVAL_SECONDS, deleting after EXPIRED_CART_RETENTION_DAYS", async () => {
    const client = carts();
    const { cart } = await client.createCart({ customerId: "expiry-service", items: [{ productId: "expiry-mug", quantity: 1 }] });
    const { cart: longExpired } = await client.createCart({ customerId: "expiry-service" });
    await backdate([longExpired!.id]);
    await sweeper(database, 10).expireDue();
    await database.sql`update carts set expire_time = now() - interval '2 days' where id = ${longExpired!.id}`;
    const sweeping = await startServer({ DATABASE_URL: databaseUrl, CART_SWEEP_INTERVAL_SECONDS: "1", EXPIRED_CART_RETENTION_DAYS: "1" });
    try {
      // Due only after the service started: its later passes find it.
      await backdate([cart!.id]);
      const logged = (message: string) => sweeping.logs.find((line) => line.message === message);
      for (let waited = 0; waited < 15_000 && !(logged("carts expired") && logged("long-expired carts deleted")); waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(logged("carts expired")).toMatchObject({ level: "info", count: 1 });
      expect(logged("long-expired carts deleted")).toMatchObject({ level: "info", count: 1 });
    } finally {
      await sweeping.stop();
    }
    expect((await client.getCart({ id: cart!.id })).cart!.status).toBe(CartStatus.EXPIRED);
    await expect(client.getCart({ id: longExpired!.id })).rejects.toMatchObject({ code: Code.NotFound });
  });
});
