import type { Address, LineItem, ShippingMethod } from "../domain/cart.js";
import { noProductDetails } from "../domain/product.js";
import { type Order, type OrderStatus, promotionsUsedBy } from "../domain/order.js";
import type { Totals } from "../domain/totals.js";
import { addressJson } from "./cart-repository.js";
import type { Sql, Tx } from "./database.js";
import { toJsonText, withAmounts } from "./json-amounts.js";
import type { CartPromotionJson } from "./schema.js";

/**
 * Orders: written once, by CompleteCart inside the transaction that holds
 * the cart's row lock, and only read afterwards. Lines, shipping methods and
 * totals are jsonb snapshots in their domain shape (amounts as strings).
 */

interface OrderRow {
  id: string;
  cart_id: string;
  customer_id: string;
  status: OrderStatus;
  region_id: string;
  currency: string;
  sales_channel_id: string;
  email: string;
  metadata: Record<string, string>;
  shipping_address: Address | null;
  billing_address: Address | null;
  lines: unknown;
  shipping_methods: unknown;
  promotions: CartPromotionJson[];
  totals: unknown;
  item_quantity: number;
  payment_reference: string;
  created_at: string;
}

/** A line as JSON stores it: timestamps as ISO strings. */
type LineJson = Omit<LineItem, "createdAt" | "updatedAt" | "details" | "metadata"> &
  Partial<Pick<LineItem, "details" | "metadata">> & { createdAt: string; updatedAt: string };

function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    cartId: row.cart_id,
    customerId: row.customer_id,
    status: row.status,
    regionId: row.region_id,
    currency: row.currency,
    salesChannelId: row.sales_channel_id,
    email: row.email,
    metadata: row.metadata,
    shippingAddress: row.shipping_address ?? undefined,
    billingAddress: row.billing_address ?? undefined,
    lines: withAmounts<LineJson[]>(row.lines).map(
      // Orders made before lines had details and metadata get none.
      (line): LineItem => ({
        ...line,
        details: line.details ?? noProductDetails,
        metadata: line.metadata ?? {},
        createdAt: new Date(line.createdAt),
        updatedAt: new Date(line.updatedAt),
      }),
    ),
    shippingMethods: withAmounts<ShippingMethod[]>(row.shipping_methods),
    promotions: row.promotions.map((held) => ({ promotionId: held.id, code: held.code })),
    totals: withAmounts<Totals>(row.totals),
    itemQuantity: row.item_quantity,
    paymentReference: row.payment_reference,
    createdAt: new Date(row.created_at),
  };
}

export interface OrderPageQuery {
  customerId?: string;
  /** Exclusive keyset bound: only orders with a smaller (older) id. */
  beforeId?: string;
  limit: number;
}

export class OrderRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Inserts the order and one order_promotions row per promotion it used, in
   * one statement of the caller's transaction.
   */
  async insert(tx: Tx, order: Order): Promise<void> {
    const promotions = order.promotions.map((held): CartPromotionJson => ({ id: held.promotionId, code: held.code }));
    await tx`
      with inserted as (
        insert into orders (id, cart_id, customer_id, status, region_id, currency, sales_channel_id, email, metadata,
                            shipping_address, billing_address, lines, shipping_methods, promotions, totals, total,
                            item_quantity, payment_reference, created_at)
        values (${order.id}, ${order.cartId}, ${order.customerId}, ${order.status}, ${order.regionId}, ${order.currency},
                ${order.salesChannelId}, ${order.email}, ${JSON.stringify(order.metadata)}::jsonb,
                ${addressJson(order.shippingAddress)}::jsonb, ${addressJson(order.billingAddress)}::jsonb,
                ${toJsonText(order.lines)}::jsonb, ${toJsonText(order.shippingMethods)}::jsonb, ${toJsonText(promotions)}::jsonb,
                ${toJsonText(order.totals)}::jsonb, ${order.totals.cart.total}, ${order.itemQuantity}, ${order.paymentReference},
                ${order.createdAt.toISOString()})
        returning id, customer_id)
      insert into order_promotions (order_id, promotion_id, customer_id)
      select inserted.id, used.id, inserted.customer_id from inserted, unnest(${promotionsUsedBy(order)}::text[]) as used(id)`;
  }

  async get(id: string, db: Sql | Tx = this.sql): Promise<Order | undefined> {
    const [found] = await db<{ row: OrderRow }[]>`select row_to_json(o) as row from orders o where o.id = ${id}`;
    return found && toOrder(found.row);
  }

  /** Newest first. */
  async list(query: OrderPageQuery): Promise<Order[]> {
    const customerId = query.customerId ?? null;
    const beforeId = query.beforeId ?? null;
    const rows = await this.sql<{ row: OrderRow }[]>`
      select row_to_json(o) as row from orders o
      where (${customerId}::text is null or o.customer_id = ${customerId})
        and (${beforeId}::uuid is null or o.id < ${beforeId}::uuid)
      order by o.id desc limit ${query.limit}`;
    return rows.map(({ row }) => toOrder(row));
  }
}
