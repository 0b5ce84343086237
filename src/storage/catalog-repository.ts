import { asc, eq, gt, inArray } from "drizzle-orm";
import type { ProductOffer } from "../domain/cart.js";
import type { Product } from "../domain/product.js";
import type { Db, Sql, Tx } from "./database.js";
import { productPrices, products } from "./schema.js";

/** Products and their prices. */
export class CatalogRepository {
  constructor(
    private readonly db: Db,
    private readonly sql: Sql,
  ) {}

  /** Creates or replaces the product and its whole price list; keeps the original created_at. */
  async upsert(product: Omit<Product, "createdAt" | "updatedAt">, now: Date): Promise<Product> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(products)
        .values({ id: product.id, title: product.title, active: product.active, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({
          target: products.id,
          set: { title: product.title, active: product.active, updatedAt: now },
        })
        .returning();
      await tx.delete(productPrices).where(eq(productPrices.productId, product.id));
      if (product.prices.length > 0) {
        await tx
          .insert(productPrices)
          .values(product.prices.map((price) => ({ productId: product.id, currency: price.currency, amount: price.amount })));
      }
      return { ...product, createdAt: row!.createdAt, updatedAt: row!.updatedAt };
    });
  }

  async get(id: string): Promise<Product | undefined> {
    const [product] = await this.page({ ids: [id], limit: 1 });
    return product;
  }

  /** Products ordered by id, after `afterId` when given. */
  async list(afterId: string | undefined, limit: number): Promise<Product[]> {
    return this.page({ afterId, limit });
  }

  private async page(query: { ids?: string[]; afterId?: string | undefined; limit: number }): Promise<Product[]> {
    const rows = await this.db
      .select()
      .from(products)
      .where(query.ids ? inArray(products.id, query.ids) : query.afterId ? gt(products.id, query.afterId) : undefined)
      .orderBy(asc(products.id))
      .limit(query.limit);
    if (rows.length === 0) return [];
    const prices = await this.db
      .select()
      .from(productPrices)
      .where(
        inArray(
          productPrices.productId,
          rows.map((row) => row.id),
        ),
      )
      .orderBy(asc(productPrices.currency));
    return rows.map((row) => ({
      ...row,
      prices: prices
        .filter((price) => price.productId === row.id)
        .map((price) => ({ currency: price.currency, amount: price.amount })),
    }));
  }

  /**
   * What a cart in `currency` may charge for each product: one statement on
   * the hot path of AddLineItem and CreateCart. Unknown products are absent.
   */
  async offers(productIds: readonly string[], currency: string, sql: Sql | Tx = this.sql): Promise<Map<string, ProductOffer>> {
    const rows = await sql<{ id: string; title: string; active: boolean; amount: bigint | null }[]>`
      select p.id, p.title, p.active, pp.amount
      from products p left join product_prices pp on pp.product_id = p.id and pp.currency = ${currency}
      where p.id = any(${productIds as string[]}::text[])`;
    return new Map(
      rows.map((row) => [
        row.id,
        { title: row.title, active: row.active, unitPrice: row.amount ?? undefined },
      ]),
    );
  }
}
