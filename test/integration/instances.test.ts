import { Code, ConnectError } from "@connectrpc/connect";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CartStatus } from "../../gen/commerce/cart/v1/cart_pb.js";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { StoreConfigService } from "../../gen/commerce/cart/v1/store_config_service_pb.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { startServer, type TestServer } from "../support/server.js";

/**
 * Two independent service processes (not node:cluster workers) on two ports
 * against one database, as several containers run. A database of its own,
 * because both sweepers count what they expire.
 */
const databaseName = `${new URL(inject("databaseUrl")).pathname.slice(1)}_instances`;
const databaseUrl = Object.assign(new URL(inject("databaseUrl")), { pathname: `/${databaseName}` }).toString();
const admin = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
let sql: postgres.Sql;
let instances: TestServer[] = [];

const carts = (server: TestServer) => clientFor(CartService, connectTransports(server.baseUrl)["connect+proto (HTTP/2)"]!);

beforeAll(async () => {
  await admin.unsafe(`create database ${databaseName}`);
  sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  // Started together on an empty database: their migrations take turns.
  instances = await Promise.all([0, 1].map(() => startServer({ DATABASE_URL: databaseUrl, CART_SWEEP_INTERVAL_SECONDS: "1" })));
  const transport = connectTransports(instances[0]!.baseUrl)["connect+proto (HTTP/2)"]!;
  await clientFor(CatalogService, transport).upsertProduct({
    product: { id: "instances-mug", title: "Mug", active: true, prices: [{ currency: "USD", amountCents: 700n }] },
  });
  await clientFor(StoreConfigService, transport).upsertShippingOption({
    shippingOption: { id: "instances-std", name: "Standard", regionId: "default", prices: [{ currency: "USD", amountCents: 300n }] },
  });
}, 120_000);

afterAll(async () => {
  await Promise.all(instances.map((server) => server.stop()));
  await sql?.end();
  await admin.unsafe(`drop database if exists ${databaseName} with (force)`);
  await admin.end();
});

describe("two instances on one database", { timeout: 60_000 }, () => {
  it("lose nothing when parallel adds to one cart are split across them", async () => {
    const { cart } = await carts(instances[0]!).createCart({ customerId: "instances-adds" });
    const adds = Array.from({ length: 40 }, (_, index) =>
      carts(instances[index % 2]!).addLineItem({ cartId: cart!.id, productId: "instances-mug", quantity: 1 }),
    );
    await Promise.all(adds);
    for (const server of instances) {
      const read = (await carts(server).getCart({ id: cart!.id })).cart!;
      expect(read.items.map(({ productId, quantity }) => ({ productId, quantity }))).toEqual([{ productId: "instances-mug", quantity: 40 }]);
      expect(read.totals!.itemSubtotal).toBe(40n * 700n);
    }
  });

  it("answer GetCart with every change the other one made, though each holds the carts it answered", async () => {
    const [first, second] = [carts(instances[0]!), carts(instances[1]!)];
    const { cart } = await first.createCart({ customerId: "instances-reads", items: [{ productId: "instances-mug", quantity: 1 }] });
    const id = cart!.id;
    for (let quantity = 2; quantity <= 4; quantity++) {
      // Both read (and hold) the cart, then one changes it and the other reads it again.
      await Promise.all([first.getCart({ id }), second.getCart({ id })]);
      const [writer, reader] = quantity % 2 === 0 ? [first, second] : [second, first];
      const lineId = (await writer.getCart({ id })).cart!.items[0]!.id;
      const { cart: changed } = await writer.updateLineItem({ cartId: id, itemId: lineId, quantity });
      expect((await reader.getCart({ id })).cart).toEqual(changed);
      expect((await writer.getCart({ id })).cart).toEqual(changed);
    }
    // A change another process made in SQL, which bumps the version as every writer does.
    await sql`update carts set email = 'changed@example.com', version = version + 1 where id = ${id}`;
    for (const client of [first, second]) expect((await client.getCart({ id })).cart!.email).toBe("changed@example.com");
  });

  it("let exactly one of two simultaneous completions of a cart make the order", async () => {
    const client = carts(instances[0]!);
    const { cart } = await client.createCart({
      customerId: "instances-checkout",
      email: "checkout@example.com",
      shippingAddress: { name: "Ada", line1: "1 Main St", city: "Town", postalCode: "1000", country: "US" },
      items: [{ productId: "instances-mug", quantity: 2 }],
    });
    await client.addShippingMethod({ cartId: cart!.id, shippingOptionId: "instances-std" });
    const outcomes = await Promise.allSettled(instances.map((server) => carts(server).completeCart({ id: cart!.id })));
    const orderIds = new Set(outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value.order!.id] : [])));
    expect(orderIds.size).toBe(1);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") expect([Code.FailedPrecondition, Code.Aborted]).toContain(ConnectError.from(outcome.reason).code);
    }
    const orders = await sql`select id from orders where cart_id = ${cart!.id}`;
    expect(orders.map((order) => order.id)).toEqual([...orderIds]);
    expect((await carts(instances[1]!).getCart({ id: cart!.id })).cart!.status).toBe(CartStatus.COMPLETED);
  });

  it("run both sweepers, which expire each due cart once between them", async () => {
    const created = await Promise.all(Array.from({ length: 30 }, (_, index) => carts(instances[index % 2]!).createCart({ customerId: "instances-expiry" })));
    const ids = created.map(({ cart }) => cart!.id);
    const [before] = await sql`select sum(version)::int as versions from carts where id = any(${ids}::uuid[])`;
    await sql`update carts set expire_time = now() - interval '1 minute' where id = any(${ids}::uuid[])`;
    const expiredCount = async () => (await sql`select count(*)::int as count from carts where id = any(${ids}::uuid[]) and status = 'expired'`)[0]!.count;
    for (let waited = 0; waited < 30_000 && (await expiredCount()) < ids.length; waited += 200) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await expiredCount()).toBe(ids.length);
    // Each cart changed once: one version more each.
    const [after] = await sql`select sum(version)::int as versions from carts where id = any(${ids}::uuid[])`;
    expect(after!.versions).toBe(before!.versions + ids.length);
    // Let any pass that was under way end, then count what each instance says it expired.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const expiredBy = instances.map((server) =>
      server.logs.filter((entry) => entry.message === "carts expired").reduce((sum, entry) => sum + Number(entry.count), 0),
    );
    expect(expiredBy[0]! + expiredBy[1]!).toBe(ids.length);
    // Both sweep: each has run passes of its own.
    for (const server of instances) {
      const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
      const passes = Number(/cart_sweeper_runs_total\{[^}]*sweeper="cart_expiry"[^}]*outcome="ok"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
      expect(passes).toBeGreaterThan(1);
    }
  });
});
