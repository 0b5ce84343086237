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
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

const bytea = customType<{ data: Buffer }>({ dataType: () => "bytea" });
/** A 64-bit transaction id (pg_current_xact_id()), as text across the driver. */
const xid8 = customType<{ data: string }>({ dataType: () => "xid8" });

const timestamps = {
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
};

/**
 * Money inside jsonb is always a string of minor units: JSON numbers lose
 * precision above 2^53, and jsonb turns them into floats for the reader.
 */
type JsonAmount = string;

/** An amount in one currency, as jsonb. */
export interface CurrencyAmountJson {
  currency: string;
  amount: JsonAmount;
}

/** Tax rates in parts per million, in their domain shape (src/domain/tax.ts). */
export interface TaxClassRateJson {
  taxClass: string;
  ratePpm: number;
}

export interface CountryTaxRateJson {
  country: string;
  ratePpm: number;
  classRates?: TaxClassRateJson[];
  provinces?: { province: string; ratePpm: number; classRates?: TaxClassRateJson[]; combined?: boolean }[];
}

export interface ShippingOptionPriceJson {
  currency: string;
  amount: JsonAmount;
  freeAbove?: JsonAmount;
}

export interface AddressJson {
  name: string;
  company: string;
  line1: string;
  line2: string;
  city: string;
  postalCode: string;
  province: string;
  country: string;
  phone: string;
}

/** A promotion a cart holds by code. */
export interface CartPromotionJson {
  id: string;
  code: string;
}

/** A payment session as the cart row keeps it (dates as ISO strings). */
export interface PaymentSessionJson {
  id: string;
  providerId: string;
  currency: string;
  amount: JsonAmount;
  status: "pending" | "authorized";
  data: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

/** A cart's payment collection as its row keeps it. */
export interface PaymentCollectionJson {
  id: string;
  currency: string;
  amount: JsonAmount;
  sessions: PaymentSessionJson[];
  createdAt: string;
  updatedAt: string;
}

export interface ShippingMethodJson {
  id: string;
  shippingOptionId: string;
  name: string;
  /** The option's price when the cart was last priced. */
  charge: { amount: JsonAmount; freeAbove?: JsonAmount };
}

/** Markets: currency, shipping countries and tax rates. */
export const regions = pgTable(
  "regions",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    currency: char("currency", { length: 3 }).notNull(),
    // Empty: any country.
    countries: text("countries").array().notNull().default(sql`'{}'::text[]`),
    pricesIncludeTax: boolean("prices_include_tax").notNull(),
    // Parts per million (88750 = 8.875 %).
    defaultTaxRatePpm: integer("default_tax_rate_ppm").notNull(),
    defaultTaxClassRates: jsonb("default_tax_class_rates").$type<TaxClassRateJson[]>().notNull().default([]),
    taxRates: jsonb("tax_rates").$type<CountryTaxRateJson[]>().notNull().default([]),
    // Empty: the built-in system provider only.
    paymentProviderIds: text("payment_provider_ids").array().notNull().default(sql`'{}'::text[]`),
    ...timestamps,
  },
  (t) => [
    index("regions_currency_id_idx").on(t.currency, t.id),
    check("regions_default_tax_rate_ppm_check", sql`${t.defaultTaxRatePpm} between 0 and 1000000`),
  ],
);

export const salesChannels = pgTable("sales_channels", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  description: text("description").notNull().default(""),
  ...timestamps,
});

export const shippingOptions = pgTable(
  "shipping_options",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    regionId: text("region_id")
      .notNull()
      .references(() => regions.id),
    prices: jsonb("prices").$type<ShippingOptionPriceJson[]>().notNull(),
    giftCardsCountTowardsFreeShipping: boolean("gift_cards_count_towards_free_shipping").notNull().default(false),
    ...timestamps,
  },
  (t) => [index("shipping_options_region_id_id_idx").on(t.regionId, t.id)],
);

export const promotions = pgTable(
  "promotions",
  {
    id: text("id").primaryKey(),
    // Null for an automatic promotion.
    code: text("code"),
    kind: text("kind", { enum: ["percentage", "fixed"] }).notNull(),
    percentageBp: integer("percentage_bp"),
    fixedAmounts: jsonb("fixed_amounts").$type<CurrencyAmountJson[]>().notNull().default([]),
    target: text("target", { enum: ["order", "products", "shipping"] }).notNull(),
    productIds: text("product_ids").array().notNull().default(sql`'{}'::text[]`),
    minimumSubtotal: jsonb("minimum_subtotal").$type<CurrencyAmountJson[]>().notNull().default([]),
    startsAt: timestamp("starts_at", { withTimezone: true, mode: "date" }),
    endsAt: timestamp("ends_at", { withTimezone: true, mode: "date" }),
    usageLimit: integer("usage_limit"),
    usageLimitPerCustomer: integer("usage_limit_per_customer"),
    ...timestamps,
  },
  (t) => [
    // Codes are matched case-insensitively, so they are unique that way too.
    uniqueIndex("promotions_code_key").on(sql`upper(${t.code})`),
    // Every cart change loads the automatic promotions.
    index("promotions_automatic_idx").on(t.id).where(sql`${t.code} is null`),
    check("promotions_kind_check", sql`${t.kind} in ('percentage', 'fixed')`),
    check("promotions_target_check", sql`${t.target} in ('order', 'products', 'shipping')`),
  ],
);

export const carts = pgTable(
  "carts",
  {
    // UUIDv7: ids sort by creation time, which gives ListCarts its order and keyset.
    id: uuid("id").primaryKey(),
    customerId: text("customer_id").notNull(),
    status: text("status", { enum: ["active", "completed", "deleted", "expired", "merged"] }).notNull(),
    currency: char("currency", { length: 3 }).notNull(),
    email: text("email").notNull().default(""),
    metadata: jsonb("metadata").$type<Record<string, string>>().notNull().default({}),
    regionId: text("region_id")
      .notNull()
      .references(() => regions.id),
    salesChannelId: text("sales_channel_id")
      .notNull()
      .references(() => salesChannels.id),
    shippingAddress: jsonb("shipping_address").$type<AddressJson>(),
    billingAddress: jsonb("billing_address").$type<AddressJson>(),
    // The promotions the cart holds by code, in the order they were applied.
    promotions: jsonb("promotions").$type<CartPromotionJson[]>().notNull().default([]),
    shippingMethods: jsonb("shipping_methods").$type<ShippingMethodJson[]>().notNull().default([]),
    // computeTotals' result when the cart last changed, so reads return it unchanged (amounts as strings).
    totals: jsonb("totals").notNull(),
    subtotal: bigint("subtotal", { mode: "bigint" }).notNull(),
    total: bigint("total", { mode: "bigint" }).notNull(),
    itemQuantity: integer("item_quantity").notNull(),
    // Bumped by every change; the etag is derived from it.
    version: bigint("version", { mode: "number" }).notNull(),
    // When an active cart expires, or an expired cart expired; null in every other status.
    expireTime: timestamp("expire_time", { withTimezone: true, mode: "date" }),
    // The order CompleteCart made of the cart.
    orderId: uuid("order_id"),
    // The cart MergeCarts moved this cart's lines into.
    mergedIntoCartId: uuid("merged_into_cart_id"),
    // How the cart is going to be paid (at most one collection per cart); null until created.
    paymentCollection: jsonb("payment_collection").$type<PaymentCollectionJson>(),
    ...timestamps,
  },
  (t) => [
    // CreatePaymentSession finds the cart by its collection's id.
    uniqueIndex("carts_payment_collection_id_key").on(sql`(${t.paymentCollection}->>'id')`),
    index("carts_customer_id_id_idx").on(t.customerId, t.id.desc()),
    // The expiry sweeper's scan.
    index("carts_expire_time_idx").on(t.expireTime).where(sql`${t.status} = 'active'`),
    // Deleting long-expired carts.
    index("carts_expired_expire_time_idx").on(t.expireTime).where(sql`${t.status} = 'expired'`),
    check("carts_status_check", sql`${t.status} in ('active', 'completed', 'deleted', 'expired', 'merged')`),
    check("carts_expire_time_check", sql`(${t.status} in ('active', 'expired')) = (${t.expireTime} is not null)`),
    check("carts_amounts_check", sql`${t.subtotal} >= 0 and ${t.total} >= 0`),
  ],
);

/**
 * Immutable snapshots of completed carts. Lines, shipping methods and totals
 * are stored as the cart had them (jsonb, amounts as strings), so an order
 * never changes when the catalog or the store configuration does.
 */
export const orders = pgTable(
  "orders",
  {
    // UUIDv7, like carts: ListOrders' order and keyset.
    id: uuid("id").primaryKey(),
    // One cart makes at most one order: the guard of exactly-once completion.
    cartId: uuid("cart_id")
      .notNull()
      .unique("orders_cart_id_key")
      .references(() => carts.id),
    customerId: text("customer_id").notNull(),
    status: text("status", { enum: ["pending"] }).notNull(),
    regionId: text("region_id").notNull(),
    currency: char("currency", { length: 3 }).notNull(),
    salesChannelId: text("sales_channel_id").notNull(),
    email: text("email").notNull(),
    metadata: jsonb("metadata").$type<Record<string, string>>().notNull(),
    shippingAddress: jsonb("shipping_address").$type<AddressJson>(),
    billingAddress: jsonb("billing_address").$type<AddressJson>(),
    lines: jsonb("lines").notNull(),
    shippingMethods: jsonb("shipping_methods").notNull(),
    promotions: jsonb("promotions").$type<CartPromotionJson[]>().notNull(),
    totals: jsonb("totals").notNull(),
    total: bigint("total", { mode: "bigint" }).notNull(),
    itemQuantity: integer("item_quantity").notNull(),
    paymentReference: text("payment_reference").notNull().default(""),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
  },
  (t) => [
    index("orders_customer_id_id_idx").on(t.customerId, t.id.desc()),
    check("orders_status_check", sql`${t.status} in ('pending')`),
  ],
);

/** One row per promotion an order used: what promotion usage limits count. */
export const orderPromotions = pgTable(
  "order_promotions",
  {
    orderId: uuid("order_id")
      .notNull()
      .references(() => orders.id),
    promotionId: text("promotion_id").notNull(),
    customerId: text("customer_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.promotionId] }),
    index("order_promotions_promotion_id_customer_id_idx").on(t.promotionId, t.customerId),
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
    compareAtUnitPrice: bigint("compare_at_unit_price", { mode: "bigint" }),
    // The product's flags when the line was last priced.
    discountable: boolean("discountable").notNull().default(true),
    shippable: boolean("shippable").notNull().default(true),
    taxClass: text("tax_class").notNull().default("standard"),
    giftCard: boolean("gift_card").notNull().default(false),
    // The product's details when the line was added.
    subtitle: text("subtitle").notNull().default(""),
    thumbnailUri: text("thumbnail_uri").notNull().default(""),
    productHandle: text("product_handle").notNull().default(""),
    sku: text("sku").notNull().default(""),
    variantTitle: text("variant_title").notNull().default(""),
    // The same product with other metadata is another line, so (cart, product) is not unique.
    metadata: jsonb("metadata").$type<Record<string, string>>().notNull().default({}),
    ...timestamps,
  },
  (t) => [
    index("line_items_cart_id_product_id_idx").on(t.cartId, t.productId),
    check("line_items_quantity_check", sql`${t.quantity} > 0`),
    check("line_items_unit_price_check", sql`${t.unitPrice} >= 0`),
    check("line_items_compare_at_unit_price_check", sql`${t.compareAtUnitPrice} >= 0`),
  ],
);

export const products = pgTable("products", {
  id: text("id").primaryKey(),
  title: text("title").notNull(),
  active: boolean("active").notNull(),
  discountable: boolean("discountable").notNull().default(true),
  shippable: boolean("shippable").notNull().default(true),
  taxClass: text("tax_class").notNull().default("standard"),
  giftCard: boolean("gift_card").notNull().default(false),
  // Empty: sold in every sales channel.
  salesChannelIds: text("sales_channel_ids").array().notNull().default(sql`'{}'::text[]`),
  // Descriptive details, copied onto cart lines when they are added.
  subtitle: text("subtitle").notNull().default(""),
  thumbnailUri: text("thumbnail_uri").notNull().default(""),
  handle: text("handle").notNull().default(""),
  sku: text("sku").notNull().default(""),
  variantTitle: text("variant_title").notNull().default(""),
  ...timestamps,
});

/** Publishable keys: public tokens storefronts identify themselves with, each naming the sales channels of its carts. */
export const publishableKeys = pgTable(
  "publishable_keys",
  {
    // UUIDv7: ListPublishableKeys' order and keyset.
    id: uuid("id").primaryKey(),
    token: text("token").notNull().unique("publishable_keys_token_key"),
    title: text("title").notNull(),
    // Empty: any sales channel.
    salesChannelIds: text("sales_channel_ids").array().notNull().default(sql`'{}'::text[]`),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "date" }),
  },
);

export const productPrices = pgTable(
  "product_prices",
  {
    productId: text("product_id")
      .notNull()
      .references(() => products.id, { onDelete: "cascade" }),
    currency: char("currency", { length: 3 }).notNull(),
    // Null: the price holds in every region with this currency.
    regionId: text("region_id").references(() => regions.id),
    minQuantity: integer("min_quantity").notNull().default(1),
    amount: bigint("amount", { mode: "bigint" }).notNull(),
    compareAtAmount: bigint("compare_at_amount", { mode: "bigint" }),
  },
  (t) => [
    unique("product_prices_tier_key").on(t.productId, t.currency, t.regionId, t.minQuantity).nullsNotDistinct(),
    check("product_prices_amount_check", sql`${t.amount} >= 0`),
    check("product_prices_min_quantity_check", sql`${t.minQuantity} >= 1`),
    check("product_prices_compare_at_amount_check", sql`${t.compareAtAmount} >= 0`),
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

/**
 * The transactional outbox: one row per cart event, inserted in the
 * transaction of the change it describes (see outbox-repository.ts). `seq`
 * orders a cart's events (they are inserted under the cart's row lock) and
 * orders the relay's claims; `data` is the CartEvent message in protobuf
 * binary. `xid` is the writing transaction's id: the change feed reads in
 * (xid, seq) order, and only below the oldest transaction still running,
 * so that a transaction committing late never slips behind a feed's cursor
 * (see OutboxRepository.feedAfter). `sent_at` is set once the relay's
 * broker acknowledged the event; rows are pruned after
 * EVENTS_RETENTION_HOURS. No foreign key: events outlive their carts.
 */
export const cartEvents = pgTable(
  "cart_events",
  {
    seq: bigint("seq", { mode: "bigint" }).primaryKey().generatedAlwaysAsIdentity(),
    id: uuid("id").notNull().unique("cart_events_id_key"),
    type: text("type").notNull(),
    cartId: uuid("cart_id").notNull(),
    cartVersion: bigint("cart_version", { mode: "bigint" }).notNull(),
    time: timestamp("time", { withTimezone: true, mode: "date" }).notNull(),
    data: bytea("data").notNull(),
    xid: xid8("xid").notNull().default(sql`pg_current_xact_id()`),
    sentAt: timestamp("sent_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    // The relay's claim: unsent rows in order, and a cart's earlier unsent rows.
    index("cart_events_unsent_idx").on(t.seq).where(sql`${t.sentAt} is null`),
    index("cart_events_unsent_cart_idx").on(t.cartId, t.seq).where(sql`${t.sentAt} is null`),
    index("cart_events_time_idx").on(t.time),
    index("cart_events_xid_seq_idx").on(t.xid, t.seq),
  ],
);
