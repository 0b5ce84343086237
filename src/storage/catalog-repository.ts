import { asc, eq, gt, inArray } from "drizzle-orm";
import type { Fragment } from "postgres";
import type { ProductOffer } from "../domain/cart.js";
import { DomainError } from "../domain/errors.js";
import type { TieredPrice } from "../domain/pricing.js";
import type { Product } from "../domain/product.js";
import { type Db, type PendingRead, pendingRead, type Sql, type Tx } from "./database.js";
import { productPrices, products, regions, salesChannels } from "./schema.js";

/** Prices as the offers statement aggregates them: int8 as text. */
interface OfferPriceJson {
  currency: string;
  regionId: string | null;
  minQuantity: number;
  amount: string;
  compareAtAmount: string | null;
}

interface OfferRow {
  id: string;
  title: string;
  active: boolean;
  discountable: boolean;
  shippable: boolean;
  tax_class: string;
  gift_card: boolean;
  sales_channel_ids: string[];
  subtitle: string;
  thumbnail_uri: string;
  handle: string;
  sku: string;
  variant_title: string;
  prices: OfferPriceJson[];
}

/** Products and their prices. */
export class CatalogRepository {
  constructor(
    private readonly db: Db,
    private readonly sql: Sql,
  ) {}

  /**
   * Creates or replaces the product and its whole price list; keeps the
   * original created_at. The regions and sales channels it names must exist,
   * and a regional price must be in its region's currency.
   */
  async upsert(product: Omit<Product, "createdAt" | "updatedAt">, now: Date): Promise<Product> {
    return this.db.transaction(async (tx) => {
      const regionIds = [...new Set(product.prices.flatMap((price) => (price.regionId === undefined ? [] : [price.regionId])))];
      const known = regionIds.length === 0 ? [] : await tx.select().from(regions).where(inArray(regions.id, regionIds));
      for (const price of product.prices) {
        if (price.regionId === undefined) continue;
        const region = known.find((candidate) => candidate.id === price.regionId);
        if (!region) throw new DomainError("failed_precondition", `region ${price.regionId} does not exist; create it first`);
        if (region.currency !== price.currency) {
          throw new DomainError(
            "failed_precondition",
            `a price in ${price.currency} cannot be for region ${region.id}, which sells in ${region.currency}`,
          );
        }
      }
      if (product.salesChannelIds.length > 0) {
        const channels = await tx.select({ id: salesChannels.id }).from(salesChannels).where(inArray(salesChannels.id, [...product.salesChannelIds]));
        const missing = product.salesChannelIds.find((id) => !channels.some((channel) => channel.id === id));
        if (missing !== undefined) throw new DomainError("failed_precondition", `sales channel ${missing} does not exist; create it first`);
      }
      const fields = {
        title: product.title,
        active: product.active,
        discountable: product.discountable,
        shippable: product.shippable,
        taxClass: product.taxClass,
        giftCard: product.giftCard,
        salesChannelIds: [...product.salesChannelIds],
        ...product.details,
        updatedAt: now,
      };
      const [row] = await tx
        .insert(products)
        .values({ id: product.id, ...fields, createdAt: now })
        .onConflictDoUpdate({ target: products.id, set: fields })
        .returning();
      await tx.delete(productPrices).where(eq(productPrices.productId, product.id));
      if (product.prices.length > 0) {
        await tx.insert(productPrices).values(
          product.prices.map((price) => ({
            productId: product.id,
            currency: price.currency,
            regionId: price.regionId ?? null,
            minQuantity: price.minQuantity,
            amount: price.amount,
            compareAtAmount: price.compareAtAmount ?? null,
          })),
        );
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
      .orderBy(asc(productPrices.currency), asc(productPrices.regionId), asc(productPrices.minQuantity));
    return rows.map(({ subtitle, thumbnailUri, handle, sku, variantTitle, ...row }) => ({
      ...row,
      details: { subtitle, thumbnailUri, handle, sku, variantTitle },
      prices: prices
        .filter((price) => price.productId === row.id)
        .map((price) => ({
          currency: price.currency,
          regionId: price.regionId ?? undefined,
          minQuantity: price.minQuantity,
          amount: price.amount,
          compareAtAmount: price.compareAtAmount ?? undefined,
        })),
    }));
  }

  /**
   * What a cart in `currency` may charge for each product, with every price
   * tier in that currency (any region), in one statement. Unknown products
   * are absent.
   */
  async offers(productIds: readonly string[], currency: string, sql: Sql | Tx = this.sql): Promise<Map<string, ProductOffer>> {
    if (productIds.length === 0) return new Map();
    return offersStatement(sql, sql`${currency}`, sql`p.id = any(${productIds as string[]}::text[])`);
  }

  /**
   * `offers` for a cart, in the cart's currency, of the named products or of
   * the products of the named lines of that cart: a statement of the cart's
   * own transaction, read without waiting for the cart first (see
   * CartRepository.updateEach's `alsoRead`).
   */
  cartOffers(
    tx: Tx,
    cartId: string,
    of: { productIds: readonly string[] } | { lineIds: readonly string[] },
  ): PendingRead<Map<string, ProductOffer>> {
    const products =
      "productIds" in of
        ? tx`p.id = any(${of.productIds as string[]}::text[])`
        : tx`p.id in (select product_id from line_items where cart_id = ${cartId}::uuid and id = any(${of.lineIds as string[]}::uuid[]))`;
    return offersStatement(tx, tx`(select currency from carts where id = ${cartId}::uuid)`, products);
  }
}

/** The offers of the products `products` selects, in `currency` (both fragments of `sql`). */
function offersStatement(sql: Sql | Tx, currency: Fragment, products: Fragment): PendingRead<Map<string, ProductOffer>> {
  const statement = sql<OfferRow[]>`
    select p.id, p.title, p.active, p.discountable, p.shippable, p.tax_class, p.gift_card, p.sales_channel_ids,
      p.subtitle, p.thumbnail_uri, p.handle, p.sku, p.variant_title,
      coalesce(json_agg(json_build_object(
        'currency', pp.currency, 'regionId', pp.region_id, 'minQuantity', pp.min_quantity, 'amount', pp.amount::text,
        'compareAtAmount', pp.compare_at_amount::text
      )) filter (where pp.product_id is not null), '[]'::json) as prices
    from products p left join product_prices pp on pp.product_id = p.id and pp.currency = ${currency}
    where ${products}
    group by p.id`;
  return pendingRead(statement, (rows) =>
    new Map(
      rows.map((row) => [
        row.id,
        {
          title: row.title,
          active: row.active,
          discountable: row.discountable,
          shippable: row.shippable,
          taxClass: row.tax_class,
          giftCard: row.gift_card,
          salesChannelIds: row.sales_channel_ids,
          details: {
            subtitle: row.subtitle,
            thumbnailUri: row.thumbnail_uri,
            handle: row.handle,
            sku: row.sku,
            variantTitle: row.variant_title,
          },
          prices: row.prices.map(
            (price): TieredPrice => ({
              currency: price.currency,
              regionId: price.regionId ?? undefined,
              minQuantity: price.minQuantity,
              amount: BigInt(price.amount),
              compareAtAmount: price.compareAtAmount === null ? undefined : BigInt(price.compareAtAmount),
            }),
          ),
        },
      ]),
    ),
  );
}
