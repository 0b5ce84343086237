import { randomBytes, randomUUID } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { restCall } from "../support/rest-client.js";
import { repoRoot, startServer, type TestServer } from "../support/server.js";

/**
 * Data written before tax rates were parts per million (migrations up to
 * 0004: whole basis points, tax lines without a class) is converted when the
 * service starts on it: regions, the totals stored with carts and orders,
 * order line snapshots. A database of its own, dropped afterwards.
 */

const lastMigrationBefore = "0004_order_promotion_usage";

let admin: postgres.Sql;
let databaseName: string;
let databaseUrl: string;
let server: TestServer;
const cartId = randomUUID();
const completedCartId = randomUUID();
const orderId = randomUUID();

/** Applies the committed migrations up to and including `lastTag`, as a service of that time would have. */
async function migrateUpTo(url: string, lastTag: string): Promise<void> {
  const folder = await mkdtemp(path.join(os.tmpdir(), "cart-migrations-"));
  try {
    await cp(path.join(repoRoot, "migrations"), folder, { recursive: true });
    const journalFile = path.join(folder, "meta/_journal.json");
    const journal = JSON.parse(await readFile(journalFile, "utf8")) as { entries: { tag: string }[] };
    const last = journal.entries.findIndex((entry) => entry.tag === lastTag);
    expect(last).toBeGreaterThanOrEqual(0);
    await writeFile(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, last + 1) }));
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await migrate(drizzle(sql), { migrationsFolder: folder });
    } finally {
      await sql.end();
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

const oldBreakdown = (lineId: string) => ({
  lineId,
  subtotal: "2000",
  discountTotal: "0",
  taxTotal: "145",
  total: "2145",
  originalTotal: "2145",
  taxLines: [{ code: "US-CA", basisPoints: 725, amount: "145" }],
  adjustments: [],
});

const oldTotals = (lineId: string) => ({
  lines: [oldBreakdown(lineId)],
  shippingMethods: [],
  cart: {
    itemSubtotal: "2000",
    itemDiscountTotal: "0",
    itemTaxTotal: "145",
    itemTotal: "2145",
    shippingSubtotal: "0",
    shippingDiscountTotal: "0",
    shippingTaxTotal: "0",
    shippingTotal: "0",
    discountTotal: "0",
    taxTotal: "145",
    subtotal: "2000",
    total: "2145",
    originalTotal: "2145",
  },
  appliedPromotions: [],
  skippedPromotions: [],
});

const shippingAddress = { name: "Ada", company: "", line1: "1 Main St", line2: "", city: "Fresno", postalCode: "93650", province: "CA", country: "US", phone: "" };

/** A store of before the migration: a region with basis-point rates, a product, an active cart and a completed one with its order. */
async function writeOldData(sql: postgres.Sql): Promise<void> {
  const now = new Date().toISOString();
  const later = new Date(Date.now() + 86_400_000).toISOString();
  const lineId = randomUUID();
  await sql`insert into sales_channels (id, name, description, created_at, updated_at) values ('default', 'Default', '', ${now}, ${now})`;
  await sql`
    insert into regions (id, name, currency, countries, prices_include_tax, default_tax_rate_bp, tax_rates, created_at, updated_at)
    values ('mig-us', 'US', 'USD', '{US}', false, 500,
            ${sql.json([{ country: "US", basisPoints: 0, provinces: [{ province: "CA", basisPoints: 725 }] }])}, ${now}, ${now})`;
  await sql`insert into products (id, title, active, discountable, shippable, sales_channel_ids, created_at, updated_at)
            values ('mig-mug', 'Mug', true, true, true, '{}', ${now}, ${now})`;
  await sql`insert into product_prices (product_id, currency, region_id, min_quantity, amount) values ('mig-mug', 'USD', null, 1, 1000)`;
  for (const [id, status, expireTime] of [[cartId, "active", later], [completedCartId, "completed", null]] as const) {
    await sql`
      insert into carts (id, customer_id, status, currency, email, metadata, region_id, sales_channel_id, shipping_address,
                         promotions, shipping_methods, totals, subtotal, total, item_quantity, version, expire_time, order_id,
                         created_at, updated_at)
      values (${id}, 'mig-customer', ${status}, 'USD', 'ada@example.com', '{}', 'mig-us', 'default', ${sql.json(shippingAddress)},
              '[]', '[]', ${sql.json(oldTotals(lineId))}, 2000, 2145, 2, 1, ${expireTime},
              ${status === "completed" ? orderId : null}, ${now}, ${now})`;
  }
  await sql`
    insert into line_items (id, cart_id, product_id, title, quantity, unit_price, discountable, shippable, created_at, updated_at)
    values (${lineId}, ${cartId}, 'mig-mug', 'Mug', 2, 1000, true, true, ${now}, ${now})`;
  const orderLine = { id: lineId, productId: "mig-mug", title: "Mug", quantity: 2, unitPrice: "1000", discountable: true, shippable: true, createdAt: now, updatedAt: now };
  await sql`
    insert into orders (id, cart_id, customer_id, status, region_id, currency, sales_channel_id, email, metadata, shipping_address,
                        lines, shipping_methods, promotions, totals, total, item_quantity, created_at)
    values (${orderId}, ${completedCartId}, 'mig-customer', 'pending', 'mig-us', 'USD', 'default', 'ada@example.com', '{}',
            ${sql.json(shippingAddress)}, ${sql.json([orderLine])}, '[]', '[]', ${sql.json(oldTotals(lineId))}, 2145, 2, ${now})`;
}

beforeAll(async () => {
  admin = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
  databaseName = `cart_tax_migration_${randomBytes(4).toString("hex")}`;
  await admin.unsafe(`create database ${databaseName}`);
  const url = new URL(inject("databaseUrl"));
  url.pathname = `/${databaseName}`;
  databaseUrl = url.toString();
  await migrateUpTo(databaseUrl, lastMigrationBefore);
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await writeOldData(sql);
  } finally {
    await sql.end();
  }
  // The service migrates at start-up.
  server = await startServer({ DATABASE_URL: databaseUrl });
});

afterAll(async () => {
  await server?.stop();
  await admin?.unsafe(`drop database if exists ${databaseName} with (force)`);
  await admin?.end();
});

const rest = (method: string, path: string, body?: unknown) => restCall(server.baseUrl, method, path, body);
const migratedTaxLine = { code: "US-CA", rate_ppm: 72_500, tax_class: "standard", amount_cents: "145" };

describe("migrating basis points to parts per million", () => {
  it("converts a region's rates: × 100", async () => {
    const { status, body } = await rest("GET", "/v1/regions/mig-us");
    expect(status).toBe(200);
    expect(body).toMatchObject({
      default_tax_rate_ppm: 50_000,
      default_tax_class_rates: [],
      tax_rates: [{ country: "US", rate_ppm: 0, class_rates: [], provinces: [{ province: "CA", rate_ppm: 72_500, combined: false }] }],
    });
  });

  it("keeps a cart's stored totals, its tax lines now in ppm and of the standard class", async () => {
    const { body: cart } = await rest("GET", `/v1/carts/${cartId}`);
    expect(cart.items[0]).toMatchObject({ tax_class: "standard", gift_card: false, tax_lines: [migratedTaxLine] });
    expect(cart.totals).toMatchObject({ tax_total: "145", total: "2145" });
  });

  it("keeps an order's snapshot, its tax lines and lines converted", async () => {
    const { body: order } = await rest("GET", `/v1/orders/${orderId}`);
    expect(order.items[0]).toMatchObject({ tax_class: "standard", gift_card: false, tax_lines: [migratedTaxLine] });
    expect(order.totals).toMatchObject({ total: "2145" });
  });

  it("prices the next change with the converted rates", async () => {
    const { status, body: cart } = await rest("POST", `/v1/carts/${cartId}/items`, { product_id: "mig-mug", quantity: 1 });
    expect(status).toBe(200);
    // 3 × 10.00 at 7.25 % = 2.175 → 2.18 (half-even: 217.5, 217 is odd).
    expect(cart.items[0].tax_lines).toEqual([{ ...migratedTaxLine, amount_cents: "218" }]);
    expect(cart.totals).toMatchObject({ total: "3218" });
  });
});
