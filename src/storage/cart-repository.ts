import type { Address, Cart, CartStatus, CartSummary, HeldPromotion, LineItem, PricingContext, ShippingMethod } from "../domain/cart.js";
import type { Order } from "../domain/order.js";
import type { Totals } from "../domain/totals.js";
import { type PendingRead, pipelinedTransaction, type Sql, type Tx, withConflictRetry } from "./database.js";
import { toJsonText, withAmounts } from "./json-amounts.js";
import type { PaymentCollection } from "../domain/payment.js";
import type { CartEventNotice } from "./cart-event-notifications.js";
import { type DescribeCartEvent, insertEvents } from "./outbox-repository.js";
import type { CartPromotionJson, PaymentCollectionJson } from "./schema.js";
import { pricingColumns, pricingFromRow, type PricingRow } from "./store-config-repository.js";

/**
 * Carts and their lines. Hot paths use postgres.js tagged templates (prepared
 * automatically, one round trip each) instead of Drizzle's builder, which
 * measurably cost throughput here; the tables themselves are defined by the
 * Drizzle schema in ./schema.ts and its migrations. Timestamps and JSON cross
 * the driver as strings because Drizzle, sharing this postgres.js client,
 * switches the driver's own date and JSON conversions off.
 *
 * A cart row carries everything a read returns, including the totals its
 * last change computed (jsonb, amounts as strings), so GetCart is one
 * statement and answers exactly what that change answered.
 */

interface CartRow {
  id: string;
  customer_id: string;
  status: CartStatus;
  region_id: string;
  currency: string;
  sales_channel_id: string;
  email: string;
  metadata: Record<string, string>;
  shipping_address: Address | null;
  billing_address: Address | null;
  promotions: CartPromotionJson[];
  shipping_methods: unknown;
  totals: unknown;
  item_quantity: number;
  version: string | number;
  created_at: string;
  updated_at: string;
  expire_time: string | null;
  order_id: string | null;
  merged_into_cart_id: string | null;
  payment_collection: PaymentCollectionJson | null;
  lines: LineJson[];
}

/** Lines arrive as json_agg output: int8 as text, timestamps as ISO strings. */
interface LineJson {
  id: string;
  product_id: string;
  title: string;
  quantity: number;
  unit_price: string;
  compare_at_unit_price: string | null;
  discountable: boolean;
  shippable: boolean;
  tax_class: string;
  gift_card: boolean;
  subtitle: string;
  thumbnail_uri: string;
  product_handle: string;
  sku: string;
  variant_title: string;
  metadata: Record<string, string>;
  created_at: string;
  updated_at: string;
}

/** The columns of a read without the lines and amounts. */
type CartSummaryRow = Omit<CartRow, "lines" | "shipping_methods" | "totals">;

function toCart(row: CartRow): Cart {
  return {
    ...toCartSummary(row),
    lines: row.lines.map(toLine),
    shippingMethods: withAmounts<ShippingMethod[]>(row.shipping_methods),
    totals: withAmounts<Totals>(row.totals),
  };
}

function toCartSummary(row: CartSummaryRow): CartSummary {
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    regionId: row.region_id,
    currency: row.currency,
    salesChannelId: row.sales_channel_id,
    email: row.email,
    metadata: row.metadata,
    shippingAddress: row.shipping_address ?? undefined,
    billingAddress: row.billing_address ?? undefined,
    promotions: row.promotions.map((held): HeldPromotion => ({ promotionId: held.id, code: held.code })),
    itemQuantity: row.item_quantity,
    version: Number(row.version),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    expireTime: row.expire_time === null ? undefined : new Date(row.expire_time),
    orderId: row.order_id ?? undefined,
    mergedIntoCartId: row.merged_into_cart_id ?? undefined,
    paymentCollection: row.payment_collection === null ? undefined : paymentCollectionFromJson(row.payment_collection),
  };
}

function paymentCollectionFromJson(json: PaymentCollectionJson): PaymentCollection {
  return {
    id: json.id,
    currency: json.currency,
    amount: BigInt(json.amount),
    sessions: json.sessions.map((session) => ({
      ...session,
      amount: BigInt(session.amount),
      createdAt: new Date(session.createdAt),
      updatedAt: new Date(session.updatedAt),
    })),
    createdAt: new Date(json.createdAt),
    updatedAt: new Date(json.updatedAt),
  };
}

const paymentCollectionJson = (cart: Cart): string | null => (cart.paymentCollection ? toJsonText(cart.paymentCollection) : null);

function toLine(json: LineJson): LineItem {
  return {
    id: json.id,
    productId: json.product_id,
    title: json.title,
    quantity: json.quantity,
    unitPrice: BigInt(json.unit_price),
    compareAtUnitPrice: json.compare_at_unit_price === null ? undefined : BigInt(json.compare_at_unit_price),
    discountable: json.discountable,
    shippable: json.shippable,
    taxClass: json.tax_class,
    giftCard: json.gift_card,
    details: {
      subtitle: json.subtitle,
      thumbnailUri: json.thumbnail_uri,
      handle: json.product_handle,
      sku: json.sku,
      variantTitle: json.variant_title,
    },
    metadata: json.metadata,
    createdAt: new Date(json.created_at),
    updatedAt: new Date(json.updated_at),
  };
}

const promotionsJson = (cart: Cart): string =>
  toJsonText(cart.promotions.map((held): CartPromotionJson => ({ id: held.promotionId, code: held.code })));
export const addressJson = (address: Address | undefined): string | null => (address ? toJsonText(address) : null);

// What every read returns: everything but the lines and the amounts.
const summaryColumns = `
  c.id, c.customer_id, c.status, c.region_id, c.currency, c.sales_channel_id, c.email, c.metadata,
  c.shipping_address, c.billing_address, c.promotions,
  c.item_quantity, c.version, c.created_at, c.updated_at, c.expire_time, c.order_id, c.merged_into_cart_id, c.payment_collection`;

// The lines (oldest first) and the amounts, by the column each is read as.
const amountColumns = {
  shipping_methods: "c.shipping_methods",
  totals: "c.totals",
  lines: `coalesce((
    select json_agg(json_build_object(
      'id', l.id, 'product_id', l.product_id, 'title', l.title, 'quantity', l.quantity,
      'unit_price', l.unit_price::text, 'compare_at_unit_price', l.compare_at_unit_price::text,
      'discountable', l.discountable, 'shippable', l.shippable, 'tax_class', l.tax_class, 'gift_card', l.gift_card,
      'subtitle', l.subtitle, 'thumbnail_uri', l.thumbnail_uri,
      'product_handle', l.product_handle, 'sku', l.sku, 'variant_title', l.variant_title, 'metadata', l.metadata,
      'created_at', l.created_at, 'updated_at', l.updated_at
    ) order by l.created_at, l.id)
    from line_items l where l.cart_id = c.id
  ), '[]'::json)`,
};

// One statement returns the cart with its lines.
const cartColumns = `${summaryColumns}, ${Object.entries(amountColumns).map(([name, expression]) => `${expression} as ${name}`).join(", ")}`;

// The same, but without the lines and amounts (null) when the cart is at the version $2.
const cartColumnsUnlessAtVersion = `${summaryColumns}, ${Object.entries(amountColumns)
  .map(([name, expression]) => `case when c.version = $2 then null else ${expression} end as ${name}`)
  .join(", ")}`;

// What changing the cart needs besides the cart, read in the same statement.
const cartPricingColumns = pricingColumns(
  "c.region_id",
  "array(select x->>'id' from jsonb_array_elements(c.promotions) x)",
  "array(select x->>'shippingOptionId' from jsonb_array_elements(c.shipping_methods) x)",
);

const readColumns = (options: CartReadOptions) => (options.amounts ? cartColumns : summaryColumns);
const readCart = (row: CartRow, options: CartReadOptions) => (options.amounts ? toCart(row) : toCartSummary(row));

/** A cart read under its row lock, with what changing it needs (see CartRepository.update). */
export interface LockedCart {
  readonly cart: Cart;
  readonly pricing: PricingContext;
}

export interface CartPageQuery {
  customerId?: string;
  status?: CartStatus;
  /** Exclusive keyset bound: only carts with a smaller (older) id. */
  beforeId?: string;
  limit: number;
}

/**
 * Whether a read fetches the lines and the amounts (totals, shipping
 * methods): the larger part of a read, which callers that return none of it
 * skip, getting CartSummary objects.
 */
export interface CartReadOptions {
  readonly amounts: boolean;
}

/** What updateEach's `change` returns: the carts to write, and the order the change placed, if it did. */
export interface CartsChanged {
  readonly carts: readonly Cart[];
  readonly order?: Order;
}

/**
 * Every cart this repository writes gets its event in the same transaction
 * (the transactional outbox, see outbox-repository.ts), announced once
 * committed (see CartEventNotifier): `create` and `updateEach` are where all
 * cart mutations commit.
 */
export class CartRepository {
  constructor(
    private readonly sql: Sql,
    private readonly describeEvent: DescribeCartEvent,
    private readonly announce: (committed: readonly CartEventNotice[]) => void,
  ) {}

  /** The id of the cart a payment collection belongs to. */
  async cartIdOfPaymentCollection(collectionId: string): Promise<string | undefined> {
    const [row] = await this.sql<{ id: string }[]>`select id from carts where payment_collection->>'id' = ${collectionId}`;
    return row?.id;
  }

  async get(id: string): Promise<Cart | undefined>;
  async get(id: string, options: CartReadOptions): Promise<Cart | CartSummary | undefined>;
  async get(id: string, options: CartReadOptions = { amounts: true }): Promise<Cart | CartSummary | undefined> {
    const rows = await this.sql.unsafe<CartRow[]>(`select ${readColumns(options)} from carts c where c.id = $1`, [id], {
      prepare: true,
    });
    return rows[0] && readCart(rows[0], options);
  }

  /**
   * The cart, or only its summary when it is at `heldVersion`: a caller that
   * holds what the cart's lines and amounts were at that version skips reading
   * them (versions only grow, see updateEach).
   */
  async getUnlessAtVersion(id: string, heldVersion: number): Promise<Cart | CartSummary | undefined> {
    const [row] = await this.sql.unsafe<CartRow[]>(`select ${cartColumnsUnlessAtVersion} from carts c where c.id = $1`, [id, heldVersion], {
      prepare: true,
    });
    return row && (Number(row.version) === heldVersion ? toCartSummary(row) : toCart(row));
  }

  async list(query: CartPageQuery): Promise<Cart[]>;
  async list(query: CartPageQuery, options: CartReadOptions): Promise<(Cart | CartSummary)[]>;
  async list(query: CartPageQuery, options: CartReadOptions = { amounts: true }): Promise<(Cart | CartSummary)[]> {
    const rows = await this.sql.unsafe<CartRow[]>(
      `select ${readColumns(options)} from carts c
       where ($1::text is null or c.customer_id = $1)
         and (case when $2::text is null then c.status <> 'deleted' else c.status = $2 end)
         and ($3::uuid is null or c.id < $3)
       order by c.id desc limit $4`,
      [query.customerId ?? null, query.status ?? null, query.beforeId ?? null, query.limit],
      { prepare: true },
    );
    return rows.map((row) => readCart(row, options));
  }

  /** Builds a cart inside a transaction (whatever `build` reads or locks is part of it) and inserts it. */
  async create(build: (tx: Tx) => Promise<Cart>): Promise<Cart> {
    const cart = await withConflictRetry(() =>
      pipelinedTransaction(this.sql, async (tx, { begin, commit }) => {
        // `build` may write as soon as it starts, so BEGIN has to be done first.
        await begin;
        const cart = await build(tx);
        await pipelined([
          tx`
          insert into carts (id, customer_id, status, region_id, currency, sales_channel_id, email, metadata,
                             shipping_address, billing_address, promotions, shipping_methods, totals, subtotal, total,
                             item_quantity, version, created_at, updated_at, expire_time, payment_collection)
          values (${cart.id}, ${cart.customerId}, ${cart.status}, ${cart.regionId}, ${cart.currency}, ${cart.salesChannelId},
                  ${cart.email}, ${JSON.stringify(cart.metadata)}::jsonb, ${addressJson(cart.shippingAddress)}::jsonb,
                  ${addressJson(cart.billingAddress)}::jsonb, ${promotionsJson(cart)}::jsonb,
                  ${toJsonText(cart.shippingMethods)}::jsonb, ${toJsonText(cart.totals)}::jsonb,
                  ${cart.totals.cart.subtotal}, ${cart.totals.cart.total}, ${cart.itemQuantity},
                  ${cart.version}, ${cart.createdAt.toISOString()}, ${cart.updatedAt.toISOString()},
                  ${cart.expireTime?.toISOString() ?? null}, ${paymentCollectionJson(cart)}::jsonb)`,
          cart.lines.length > 0 && upsertLines(tx, cart.id, cart.lines),
          insertEvents(tx, [this.describeEvent(undefined, cart, undefined)]),
          commit(),
        ]);
        return cart;
      }),
    );
    this.announce([{ cartId: cart.id, cartVersion: cart.version }]);
    return cart;
  }

  /**
   * Runs `change` on the cart inside one transaction that holds the cart's row
   * lock, then writes only what changed. Concurrent changes to one cart queue
   * on the lock instead of failing or overwriting each other. `change` gets
   * the cart's pricing context (its region, automatic and held promotions,
   * its shipping options) read in the same statement as the cart, and what
   * `alsoRead` read (see updateEach).
   * Returns undefined when the cart does not exist.
   */
  async update<T = undefined>(
    id: string,
    change: (cart: Cart, pricing: PricingContext, tx: Tx, alsoRead: T) => Promise<Cart> | Cart,
    alsoRead?: (tx: Tx) => PendingRead<T>,
  ): Promise<Cart | undefined> {
    const { carts } = await this.updateEach(
      [id],
      async ([locked], tx, read) => ({ carts: locked ? [await change(locked.cart, locked.pricing, tx, read)] : [] }),
      alsoRead,
    );
    return carts[0];
  }

  /**
   * `update` for several carts in one transaction that holds all their row
   * locks, taken in id order so that transactions locking overlapping carts
   * queue instead of deadlocking. `change` gets the carts in the order of
   * `ids` (undefined for one that does not exist) and returns, in `carts`,
   * those to write; a cart returned as the very object it was given is
   * unchanged and not written. `alsoRead`, when given, is a further read
   * that `change` needs and that does not depend on what the cart read
   * returns (it may select by the cart's id): it travels with the cart read,
   * saving a round trip, and `change` gets its result. With `skipLocked`,
   * carts another transaction holds are passed over (undefined) instead of
   * waited for. Each cart written gets its event; a change that placed an
   * order returns it as `order`, for the event of the cart it came from.
   */
  async updateEach<R extends CartsChanged, T = undefined>(
    ids: readonly string[],
    change: (locked: readonly (LockedCart | undefined)[], tx: Tx, alsoRead: T) => Promise<R> | R,
    alsoRead?: (tx: Tx) => PendingRead<T>,
    { skipLocked = false }: { skipLocked?: boolean } = {},
  ): Promise<R> {
    let committed: readonly CartEventNotice[] = [];
    const result = await withConflictRetry(() => pipelinedTransaction(this.sql, async (tx, { begin, commit }) => {
      // Lock first, read after: a statement that waited for a lock still reads
      // the lines as of its start, so it would miss the lines the previous
      // holder committed. The statements after it see them, `alsoRead` too.
      // They travel in one write with BEGIN (see pipelined), and PostgreSQL
      // runs them in order; all only read, should BEGIN fail.
      const alsoReading = alsoRead?.(tx);
      const [, lockedRows, rows, readResult] = await pipelined([
        begin,
        skipLocked
          ? tx<{ id: string }[]>`select id from carts where id = any(${ids as string[]}::uuid[]) order by id for update skip locked`
          : tx<{ id: string }[]>`select id from carts where id = any(${ids as string[]}::uuid[]) order by id for update`,
        tx.unsafe<(CartRow & PricingRow)[]>(
          `select ${cartColumns}, ${cartPricingColumns} from carts c where c.id = any($1::uuid[])`,
          [ids as string[]],
          { prepare: true },
        ),
        alsoReading ?? false,
      ]);
      const lockedIds = new Set(lockedRows.map((row) => row.id));
      const cartsRead = new Map(
        rows
          .filter((row) => lockedIds.has(row.id))
          .map((row): [string, LockedCart] => {
            const { region, ...context } = pricingFromRow(row);
            // A foreign key keeps every cart's region in existence.
            return [row.id, { cart: toCart(row), pricing: { region: region!, ...context } }];
          }),
      );
      // Without `alsoRead`, T is undefined and so is what `change` gets.
      const result = await change(ids.map((id) => cartsRead.get(id)), tx, (alsoReading ? readResult : undefined) as T);
      const changed = result.carts.flatMap((after) => {
        const before = cartsRead.get(after.id)?.cart;
        if (!before) throw new Error(`cart ${after.id} was changed without being locked`);
        // Etags, and the cart messages callers hold by version, rely on each written version being new.
        if (after !== before && after.version <= before.version) throw new Error(`cart ${after.id} was changed without a new version`);
        return after === before ? [] : [{ before, after }];
      });
      const events = changed.map(({ before, after }) =>
        this.describeEvent(before, after, after.orderId !== before.orderId && result.order?.id === after.orderId ? result.order : undefined),
      );
      await pipelined([...changed.flatMap(({ before, after }) => saveChanges(tx, before, after)), insertEvents(tx, events), commit()]);
      committed = events;
      return result;
    }));
    if (committed.length > 0) this.announce(committed);
    return result;
  }
}

/**
 * Sends the statements at once, in this order, and waits for all of them.
 * postgres.js starts a query when it is executed or awaited, and writes the
 * queries started in one tick with a single socket write (up to 16 KiB, see
 * patches/postgres+*.patch): those writes were the largest item of the
 * service's CPU profile under AddLineItem load.
 * PostgreSQL still runs them one after the other; in a transaction the first
 * failure fails the rest.
 */
function pipelined<const T extends readonly ({ execute(): unknown } | false)[]>(statements: T) {
  for (const statement of statements) if (statement) statement.execute();
  return Promise.all(statements);
}

/** Inserts new lines and updates changed ones; a line's details never change after it was added. */
function upsertLines(tx: Tx, cartId: string, lines: readonly LineItem[]) {
  return tx`
    insert into line_items (id, cart_id, product_id, title, quantity, unit_price, compare_at_unit_price, discountable,
                            shippable, tax_class, gift_card, subtitle, thumbnail_uri, product_handle, sku, variant_title, metadata,
                            created_at, updated_at)
    select id, ${cartId}::uuid, product_id, title, quantity, unit_price, compare_at_unit_price, discountable, shippable,
           tax_class, gift_card, subtitle, thumbnail_uri, product_handle, sku, variant_title, metadata, created_at, updated_at
    from unnest(
      ${lines.map((l) => l.id)}::uuid[], ${lines.map((l) => l.productId)}::text[], ${lines.map((l) => l.title)}::text[],
      ${lines.map((l) => l.quantity)}::int4[], ${lines.map((l) => l.unitPrice.toString())}::int8[],
      ${lines.map((l) => l.compareAtUnitPrice?.toString() ?? null)}::int8[],
      ${lines.map((l) => String(l.discountable))}::text[]::bool[], ${lines.map((l) => String(l.shippable))}::text[]::bool[],
      ${lines.map((l) => l.taxClass)}::text[], ${lines.map((l) => String(l.giftCard))}::text[]::bool[],
      ${lines.map((l) => l.details.subtitle)}::text[], ${lines.map((l) => l.details.thumbnailUri)}::text[],
      ${lines.map((l) => l.details.handle)}::text[], ${lines.map((l) => l.details.sku)}::text[],
      ${lines.map((l) => l.details.variantTitle)}::text[], ${lines.map((l) => JSON.stringify(l.metadata))}::text[]::jsonb[],
      ${lines.map((l) => l.createdAt.toISOString())}::text[]::timestamptz[], ${lines.map((l) => l.updatedAt.toISOString())}::text[]::timestamptz[]
    ) as t(id, product_id, title, quantity, unit_price, compare_at_unit_price, discountable, shippable, tax_class, gift_card,
           subtitle, thumbnail_uri, product_handle, sku, variant_title, metadata, created_at, updated_at)
    on conflict (id) do update set
      title = excluded.title, quantity = excluded.quantity, unit_price = excluded.unit_price,
      compare_at_unit_price = excluded.compare_at_unit_price, discountable = excluded.discountable,
      shippable = excluded.shippable, tax_class = excluded.tax_class, gift_card = excluded.gift_card,
      metadata = excluded.metadata, updated_at = excluded.updated_at`;
}

/** The statements writing the difference between two versions of a cart; the domain returns unchanged lines as the same objects. */
function saveChanges(tx: Tx, before: Cart, after: Cart) {
  const kept = new Set(after.lines.map((line) => line.id));
  const removedIds = before.lines.filter((line) => !kept.has(line.id)).map((line) => line.id);
  const previous = new Set(before.lines);
  const changedLines = after.lines.filter((line) => !previous.has(line));
  return [
    removedIds.length > 0 && tx`delete from line_items where cart_id = ${after.id} and id = any(${removedIds}::uuid[])`,
    changedLines.length > 0 && upsertLines(tx, after.id, changedLines),
    tx`
    update carts set customer_id = ${after.customerId}, status = ${after.status}, region_id = ${after.regionId}, currency = ${after.currency},
      sales_channel_id = ${after.salesChannelId}, email = ${after.email}, metadata = ${JSON.stringify(after.metadata)}::jsonb,
      shipping_address = ${addressJson(after.shippingAddress)}::jsonb, billing_address = ${addressJson(after.billingAddress)}::jsonb,
      promotions = ${promotionsJson(after)}::jsonb, shipping_methods = ${toJsonText(after.shippingMethods)}::jsonb,
      totals = ${toJsonText(after.totals)}::jsonb, subtotal = ${after.totals.cart.subtotal}, total = ${after.totals.cart.total},
      item_quantity = ${after.itemQuantity}, version = ${after.version}, updated_at = ${after.updatedAt.toISOString()},
      expire_time = ${after.expireTime?.toISOString() ?? null}, order_id = ${after.orderId ?? null},
      merged_into_cart_id = ${after.mergedIntoCartId ?? null}, payment_collection = ${paymentCollectionJson(after)}::jsonb
    where id = ${after.id}`,
  ];
}
