import type { Cart, CartStatus, LineItem } from "../domain/cart.js";
import { type Sql, type Tx, withConflictRetry } from "./database.js";

/**
 * Carts and their lines. Hot paths use postgres.js tagged templates (prepared
 * automatically, one round trip each) instead of Drizzle's builder, which
 * measurably cost throughput here; the tables themselves are defined by the
 * Drizzle schema in ./schema.ts and its migrations. Timestamps and JSON cross
 * the driver as strings because Drizzle, sharing this postgres.js client,
 * switches the driver's own date and JSON conversions off.
 */

interface CartRow {
  id: string;
  customer_id: string;
  status: CartStatus;
  currency: string;
  email: string;
  metadata: Record<string, string>;
  subtotal: bigint;
  total: bigint;
  item_quantity: number;
  version: string | number;
  created_at: string;
  updated_at: string;
  lines: LineJson[];
}

/** Lines arrive as json_agg output: int8 as text, timestamps as ISO strings. */
interface LineJson {
  id: string;
  product_id: string;
  title: string;
  quantity: number;
  unit_price: string;
  created_at: string;
  updated_at: string;
}

function toCart(row: CartRow): Cart {
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    currency: row.currency,
    email: row.email,
    metadata: row.metadata,
    lines: row.lines.map(toLine),
    subtotal: row.subtotal,
    total: row.total,
    itemQuantity: row.item_quantity,
    version: Number(row.version),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function toLine(json: LineJson): LineItem {
  return {
    id: json.id,
    productId: json.product_id,
    title: json.title,
    quantity: json.quantity,
    unitPrice: BigInt(json.unit_price),
    createdAt: new Date(json.created_at),
    updatedAt: new Date(json.updated_at),
  };
}

// One statement returns the cart with its lines, oldest line first.
const cartColumns = `
  c.id, c.customer_id, c.status, c.currency, c.email, c.metadata, c.subtotal, c.total,
  c.item_quantity, c.version, c.created_at, c.updated_at,
  coalesce((
    select json_agg(json_build_object(
      'id', l.id, 'product_id', l.product_id, 'title', l.title, 'quantity', l.quantity,
      'unit_price', l.unit_price::text, 'created_at', l.created_at, 'updated_at', l.updated_at
    ) order by l.created_at, l.id)
    from line_items l where l.cart_id = c.id
  ), '[]'::json) as lines`;

export interface CartPageQuery {
  customerId?: string;
  status?: CartStatus;
  /** Exclusive keyset bound: only carts with a smaller (older) id. */
  beforeId?: string;
  limit: number;
}

export class CartRepository {
  constructor(private readonly sql: Sql) {}

  async get(id: string): Promise<Cart | undefined> {
    const rows = await this.sql.unsafe<CartRow[]>(`select ${cartColumns} from carts c where c.id = $1`, [id], {
      prepare: true,
    });
    return rows[0] && toCart(rows[0]);
  }

  async list(query: CartPageQuery): Promise<Cart[]> {
    const rows = await this.sql.unsafe<CartRow[]>(
      `select ${cartColumns} from carts c
       where ($1::text is null or c.customer_id = $1)
         and (case when $2::text is null then c.status <> 'deleted' else c.status = $2 end)
         and ($3::uuid is null or c.id < $3)
       order by c.id desc limit $4`,
      [query.customerId ?? null, query.status ?? null, query.beforeId ?? null, query.limit],
      { prepare: true },
    );
    return rows.map(toCart);
  }

  async insert(cart: Cart): Promise<void> {
    await this.sql.begin(async (tx) => {
      await tx`
        insert into carts (id, customer_id, status, currency, email, metadata, subtotal, total,
                           item_quantity, version, created_at, updated_at)
        values (${cart.id}, ${cart.customerId}, ${cart.status}, ${cart.currency}, ${cart.email},
                ${JSON.stringify(cart.metadata)}::jsonb, ${cart.subtotal}, ${cart.total}, ${cart.itemQuantity},
                ${cart.version}, ${cart.createdAt.toISOString()}, ${cart.updatedAt.toISOString()})`;
      if (cart.lines.length > 0) await upsertLines(tx, cart.id, cart.lines);
    });
  }

  /**
   * Runs `change` on the cart inside one transaction that holds the cart's row
   * lock, then writes only what changed. Concurrent changes to one cart queue
   * on the lock instead of failing or overwriting each other.
   * Returns undefined when the cart does not exist.
   */
  async update(id: string, change: (cart: Cart, tx: Tx) => Promise<Cart> | Cart): Promise<Cart | undefined> {
    return withConflictRetry(() => this.sql.begin(async (tx) => {
      // Lock first, read after: a statement that waited for the lock still reads
      // the lines as of its start, so it would miss the lines the previous
      // holder committed. The second statement sees them.
      const [locked] = await tx`select 1 from carts where id = ${id} for update`;
      if (!locked) return undefined;
      const rows = await tx.unsafe<CartRow[]>(`select ${cartColumns} from carts c where c.id = $1`, [id], { prepare: true });
      const before = toCart(rows[0]!);
      const after = await change(before, tx);
      await saveChanges(tx, before, after);
      return after;
    }) as Promise<Cart | undefined>);
  }
}

async function upsertLines(tx: Tx, cartId: string, lines: readonly LineItem[]): Promise<void> {
  await tx`
    insert into line_items (id, cart_id, product_id, title, quantity, unit_price, created_at, updated_at)
    select id, ${cartId}::uuid, product_id, title, quantity, unit_price, created_at, updated_at
    from unnest(
      ${lines.map((l) => l.id)}::uuid[], ${lines.map((l) => l.productId)}::text[], ${lines.map((l) => l.title)}::text[],
      ${lines.map((l) => l.quantity)}::int4[], ${lines.map((l) => l.unitPrice.toString())}::int8[],
      ${lines.map((l) => l.createdAt.toISOString())}::text[]::timestamptz[], ${lines.map((l) => l.updatedAt.toISOString())}::text[]::timestamptz[]
    ) as t(id, product_id, title, quantity, unit_price, created_at, updated_at)
    on conflict (id) do update set
      title = excluded.title, quantity = excluded.quantity,
      unit_price = excluded.unit_price, updated_at = excluded.updated_at`;
}

/** Writes the difference between two versions of a cart; the domain returns unchanged lines as the same objects. */
async function saveChanges(tx: Tx, before: Cart, after: Cart): Promise<void> {
  const kept = new Set(after.lines.map((line) => line.id));
  const removedIds = before.lines.filter((line) => !kept.has(line.id)).map((line) => line.id);
  const previous = new Set(before.lines);
  const changedLines = after.lines.filter((line) => !previous.has(line));
  if (removedIds.length > 0) {
    await tx`delete from line_items where cart_id = ${after.id} and id = any(${removedIds}::uuid[])`;
  }
  if (changedLines.length > 0) await upsertLines(tx, after.id, changedLines);
  await tx`
    update carts set status = ${after.status}, currency = ${after.currency}, email = ${after.email},
      metadata = ${JSON.stringify(after.metadata)}::jsonb, subtotal = ${after.subtotal}, total = ${after.total},
      item_quantity = ${after.itemQuantity}, version = ${after.version}, updated_at = ${after.updatedAt.toISOString()}
    where id = ${after.id}`;
}
