import { sql } from "drizzle-orm";
import {
  bigint,
  customType,
  boolean,
  char,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uuid,
} from "drizzle-orm/pg-core";

const bytea = customType<{ data: Buffer }>({ dataType: () => "bytea" });

const timestamps = {
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
};

export const carts = pgTable(
  "carts",
  {
    // UUIDv7: ids sort by creation time, which gives ListCarts its order and keyset.
    id: uuid("id").primaryKey(),
    customerId: text("customer_id").notNull(),
    status: text("status", { enum: ["active", "completed", "deleted"] }).notNull(),
    currency: char("currency", { length: 3 }).notNull(),
    email: text("email").notNull().default(""),
    metadata: jsonb("metadata").$type<Record<string, string>>().notNull().default({}),
    subtotal: bigint("subtotal", { mode: "bigint" }).notNull(),
    total: bigint("total", { mode: "bigint" }).notNull(),
    itemQuantity: integer("item_quantity").notNull(),
    // Bumped by every change; the etag is derived from it.
    version: bigint("version", { mode: "number" }).notNull(),
    ...timestamps,
  },
  (t) => [
    index("carts_customer_id_id_idx").on(t.customerId, t.id.desc()),
    check("carts_status_check", sql`${t.status} in ('active', 'completed', 'deleted')`),
    check("carts_amounts_check", sql`${t.subtotal} >= 0 and ${t.total} >= 0`),
  ],
);

export const lineItems = pgTable(
  "line_items",
  {
    id: uuid("id").primaryKey(),
    cartId: uuid("cart_id")
      .notNull()
      .references(() => carts.id, { onDelete: "cascade" }),
    productId: text("product_id").notNull(),
    title: text("title").notNull(),
    quantity: integer("quantity").notNull(),
    unitPrice: bigint("unit_price", { mode: "bigint" }).notNull(),
    ...timestamps,
  },
  (t) => [
    unique("line_items_cart_id_product_id_key").on(t.cartId, t.productId),
    check("line_items_quantity_check", sql`${t.quantity} > 0`),
    check("line_items_unit_price_check", sql`${t.unitPrice} >= 0`),
  ],
);

export const products = pgTable("products", {
  id: text("id").primaryKey(),
  title: text("title").notNull(),
  active: boolean("active").notNull(),
  ...timestamps,
});

export const productPrices = pgTable(
  "product_prices",
  {
    productId: text("product_id")
      .notNull()
      .references(() => products.id, { onDelete: "cascade" }),
    currency: char("currency", { length: 3 }).notNull(),
    amount: bigint("amount", { mode: "bigint" }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.productId, t.currency] }),
    check("product_prices_amount_check", sql`${t.amount} >= 0`),
  ],
);

/**
 * Outcomes of mutating calls that carried an idempotency key, so a retry
 * returns the first response instead of executing again.
 */
export const idempotencyRecords = pgTable(
  "idempotency_records",
  {
    principal: text("principal").notNull(),
    method: text("method").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    // null while the first execution is still running.
    response: bytea("response"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.principal, t.method, t.key] }), index("idempotency_records_created_at_idx").on(t.createdAt)],
);
