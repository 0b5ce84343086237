import { Code, ConnectError } from "@connectrpc/connect";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { OrderStatus } from "../../gen/commerce/cart/v1/order_pb.js";
import { StoreConfigService } from "../../gen/commerce/cart/v1/store_config_service_pb.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { type PgBouncer, pgbouncerBinary, pgbouncerInstalled, startPgBouncer } from "../support/pgbouncer.js";
import { holdCartLock } from "../support/row-locks.js";
import { runUntilExit, startServer, type TestServer } from "../support/server.js";
import { nextWithin } from "../support/streams.js";

/**
 * The service behind PgBouncer in transaction pooling mode, where each
 * transaction may run on another server connection: prepared statements and
 * session settings do not carry over. DB_TRANSACTION_POOLING=true makes it
 * work there. Ids start with "bouncer-".
 */
if (!pgbouncerInstalled) console.warn(`skipping the PgBouncer tests: ${pgbouncerBinary} is not installed (apt-get install pgbouncer)`);

describe.skipIf(!pgbouncerInstalled)("behind PgBouncer in transaction pooling mode", () => {
  let bouncer: PgBouncer;
  let server: TestServer;
  let sql: postgres.Sql;
  const transport = () => connectTransports(server.baseUrl)["connect+proto (HTTP/2)"]!;

  beforeAll(async () => {
    // Fewer server connections than the service's pool: transactions of different clients share them.
    bouncer = await startPgBouncer(inject("databaseUrl"), 4);
    server = await startServer({ DATABASE_URL: bouncer.url, DB_TRANSACTION_POOLING: "true", DB_LOCK_TIMEOUT_MS: "500" });
    sql = postgres(inject("databaseUrl"), { max: 2, onnotice: () => {} });
    const store = clientFor(StoreConfigService, transport());
    await store.upsertRegion({ region: { id: "bouncer-us", name: "US", currency: "USD", countries: ["US"] } });
    await store.upsertShippingOption({
      shippingOption: { id: "bouncer-std", name: "Standard", regionId: "bouncer-us", prices: [{ currency: "USD", amountCents: 500n }] },
    });
    await clientFor(CatalogService, transport()).upsertProduct({
      product: { id: "bouncer-mug", title: "Mug", active: true, prices: [{ currency: "USD", amountCents: 1299n }] },
    });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await sql?.end();
    await bouncer?.stop();
  });

  it("runs the cart flow, 50 concurrent adds that lose nothing, and a completion", async () => {
    const carts = clientFor(CartService, transport());
    const { cart } = await carts.createCart({
      customerId: "bouncer-customer",
      regionId: "bouncer-us",
      email: "bouncer@example.com",
      shippingAddress: { name: "Ada", line1: "1 Main St", city: "Town", postalCode: "1000", country: "US" },
    });
    const added = await Promise.all(Array.from({ length: 50 }, () => carts.addLineItem({ cartId: cart!.id, productId: "bouncer-mug", quantity: 1 })));
    expect(added.every(({ cart: after }) => after!.items.length === 1)).toBe(true);
    const read = (await carts.getCart({ id: cart!.id })).cart!;
    expect(read.items[0]!.quantity).toBe(50);
    expect(read.totals!.itemSubtotal).toBe(50n * 1299n);
    await carts.addShippingMethod({ cartId: cart!.id, shippingOptionId: "bouncer-std" });
    const { order } = await carts.completeCart({ id: cart!.id });
    expect(order).toMatchObject({ status: OrderStatus.PENDING, itemQuantity: 50 });
    expect(order!.totals!.total).toBe(50n * 1299n + 500n);
    const [stored] = await sql`select status from carts where id = ${cart!.id}`;
    expect(stored!.status).toBe("completed");
  });

  it("still applies DB_LOCK_TIMEOUT_MS, set in each transaction", async () => {
    const carts = clientFor(CartService, transport());
    const { cart } = await carts.createCart({ customerId: "bouncer-customer", regionId: "bouncer-us" });
    const lock = await holdCartLock(sql, cart!.id);
    try {
      const refused = await carts.addLineItem({ cartId: cart!.id, productId: "bouncer-mug", quantity: 1 }).catch((error: unknown) => error);
      expect(ConnectError.from(refused).code).toBe(Code.Aborted);
    } finally {
      await lock.release();
    }
  });

  it("wakes a WatchCart stream on each change, made here or through another instance (no LISTEN through the pooler)", { timeout: 60_000 }, async () => {
    const carts = clientFor(CartService, transport());
    const { cart } = await carts.createCart({ customerId: "bouncer-watcher", regionId: "bouncer-us" });
    const other = await startServer({ DATABASE_URL: bouncer.url, DB_TRANSACTION_POOLING: "true" });
    const abort = new AbortController();
    try {
      // Generous waits: the change feed holds events back while any transaction of the shared server runs (other test files).
      const messages = carts.watchCart({ id: cart!.id }, { signal: abort.signal })[Symbol.asyncIterator]();
      const first = (await nextWithin(messages)).cart!;
      await carts.addLineItem({ cartId: cart!.id, productId: "bouncer-mug", quantity: 1 });
      expect(Number((await nextWithin(messages, 20_000)).cart!.etag)).toBe(Number(first.etag) + 1);
      const otherCarts = clientFor(CartService, connectTransports(other.baseUrl)["connect+proto (HTTP/2)"]!);
      await otherCarts.addLineItem({ cartId: cart!.id, productId: "bouncer-mug", quantity: 1 });
      const next = (await nextWithin(messages, 20_000)).cart!;
      expect(Number(next.etag)).toBe(Number(first.etag) + 2);
      expect(next.items[0]!.quantity).toBe(2);
    } finally {
      abort.abort();
      await other.stop();
    }
  });

  it("answers the readiness probe through the pooler", async () => {
    const response = await fetch(`${server.baseUrl}/readyz`);
    expect(response.status).toBe(200);
  });

  it("without DB_TRANSACTION_POOLING, refuses to start with one line naming DATABASE_URL and PgBouncer's refusal", async () => {
    const run = await runUntilExit({ DATABASE_URL: bouncer.url });
    expect(run.code).toBe(1);
    const errors = run.logs.filter((entry) => entry.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/^cannot start: DATABASE_URL postgres:\/\/.*unsupported startup parameter/);
    expect(run.lines.join("\n")).not.toMatch(/^\s+at /m);
  });
});
