import { type CodeLookup, normalizeCode, type PricingContext } from "../domain/cart.js";
import { DomainError } from "../domain/errors.js";
import { hasUsageLimit, type Promotion, type PromotionUsage } from "../domain/promotions.js";
import type { Region, SalesChannel, StoredPromotion, StoredShippingOption } from "../domain/store.js";
import type { Sql, Tx } from "./database.js";
import { toJsonText, withAmounts } from "./json-amounts.js";
import type { CountryTaxRateJson, CurrencyAmountJson, ShippingOptionPriceJson, TaxClassRateJson } from "./schema.js";

/**
 * Regions, sales channels, shipping options and promotions. Rows are read as
 * row_to_json, the same shape whether read here or inside the cart
 * statements that need them (see pricingColumns), so one decoder per table
 * serves both.
 */

interface RegionRow {
  id: string;
  name: string;
  currency: string;
  countries: string[];
  prices_include_tax: boolean;
  default_tax_rate_ppm: number;
  default_tax_class_rates: TaxClassRateJson[];
  tax_rates: CountryTaxRateJson[];
  payment_provider_ids: string[];
  created_at: string;
  updated_at: string;
}

interface SalesChannelRow {
  id: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
}

interface ShippingOptionRow {
  id: string;
  name: string;
  region_id: string;
  prices: ShippingOptionPriceJson[];
  gift_cards_count_towards_free_shipping: boolean;
  created_at: string;
  updated_at: string;
}

interface PromotionRow {
  id: string;
  code: string | null;
  kind: "percentage" | "fixed";
  percentage_bp: number | null;
  fixed_amounts: CurrencyAmountJson[];
  target: "order" | "products" | "shipping";
  product_ids: string[];
  minimum_subtotal: CurrencyAmountJson[];
  starts_at: string | null;
  ends_at: string | null;
  usage_limit: number | null;
  usage_limit_per_customer: number | null;
  created_at: string;
  updated_at: string;
}

const timestampsOf = (row: { created_at: string; updated_at: string }) => ({
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
});

export function regionFromRow(row: RegionRow): Region {
  return {
    id: row.id,
    name: row.name,
    currency: row.currency,
    countries: row.countries,
    tax: {
      pricesIncludeTax: row.prices_include_tax,
      defaults: { ratePpm: row.default_tax_rate_ppm, classRates: row.default_tax_class_rates },
      countries: row.tax_rates,
    },
    paymentProviderIds: row.payment_provider_ids,
    ...timestampsOf(row),
  };
}

function salesChannelFromRow(row: SalesChannelRow): SalesChannel {
  return { id: row.id, name: row.name, description: row.description, ...timestampsOf(row) };
}

export function shippingOptionFromRow(row: ShippingOptionRow): StoredShippingOption {
  return {
    id: row.id,
    name: row.name,
    regionId: row.region_id,
    prices: withAmounts(row.prices),
    giftCardsCountTowardsFreeShipping: row.gift_cards_count_towards_free_shipping,
    ...timestampsOf(row),
  };
}

export function promotionFromRow(row: PromotionRow): StoredPromotion {
  return {
    id: row.id,
    code: row.code ?? undefined,
    value:
      row.kind === "percentage"
        ? { kind: "percentage", basisPoints: row.percentage_bp ?? 0 }
        : { kind: "fixed", amounts: withAmounts(row.fixed_amounts) },
    target: row.target === "products" ? { kind: "products", productIds: row.product_ids } : { kind: row.target },
    minimumSubtotal: withAmounts(row.minimum_subtotal),
    startsAt: row.starts_at === null ? undefined : new Date(row.starts_at),
    endsAt: row.ends_at === null ? undefined : new Date(row.ends_at),
    usageLimit: row.usage_limit ?? undefined,
    usageLimitPerCustomer: row.usage_limit_per_customer ?? undefined,
    ...timestampsOf(row),
  };
}

/**
 * Columns that read what pricing a cart needs, given SQL expressions for its
 * region id, the ids of the promotions it holds and of the shipping options
 * it ships with: the region, every automatic promotion that has not ended,
 * the held promotions, and the shipping options.
 */
export function pricingColumns(regionId: string, promotionIds: string, shippingOptionIds: string): string {
  return `
    (select row_to_json(r) from regions r where r.id = ${regionId}) as pricing_region,
    coalesce((
      select json_agg(row_to_json(p) order by p.id) from promotions p
      where (p.code is null and (p.ends_at is null or p.ends_at > now())) or p.id = any(${promotionIds})
    ), '[]'::json) as pricing_promotions,
    coalesce((
      select json_agg(row_to_json(o) order by o.id) from shipping_options o where o.id = any(${shippingOptionIds})
    ), '[]'::json) as pricing_shipping_options`;
}

export interface PricingRow {
  pricing_region: RegionRow | null;
  pricing_promotions: PromotionRow[];
  pricing_shipping_options: ShippingOptionRow[];
}

/** The pricing context of pricingColumns; its region is undefined when no region matched. */
export function pricingFromRow(row: PricingRow): Omit<PricingContext, "region"> & { region: Region | undefined } {
  return {
    region: row.pricing_region ? regionFromRow(row.pricing_region) : undefined,
    promotions: row.pricing_promotions.map(promotionFromRow),
    shippingOptions: row.pricing_shipping_options.map(shippingOptionFromRow),
  };
}

/** Which region a new cart prices in: one by id, or the best one for a currency. */
export type RegionChoice =
  | { readonly regionId: string }
  /** The region with this currency, `preferredId` first, else the smallest id. */
  | { readonly currency: string; readonly preferredId: string };

/** A row read as row_to_json. */
type Row<T> = { row: T };

/** Orders that used each promotion (order_promotions), in all and of `customerId`, by promotion id. */
async function countUsage(db: Tx, promotionIds: readonly string[], customerId: string): Promise<Map<string, PromotionUsage>> {
  if (promotionIds.length === 0) return new Map();
  const counts = await db<{ id: string; total: number; by_customer: number }[]>`
    select p.id,
      count(u.order_id)::int as total,
      count(u.order_id) filter (where u.customer_id = ${customerId})::int as by_customer
    from unnest(${promotionIds as string[]}::text[]) as p(id)
    left join order_promotions u on u.promotion_id = p.id
    group by p.id`;
  return new Map(counts.map((count) => [count.id, { total: count.total, byCustomer: count.by_customer }]));
}

export class StoreConfigRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * The pricing context for a new cart: the region `choice` selects (undefined
   * when none matches), automatic promotions, the promotions `promotionIds`
   * and no shipping options. One statement.
   */
  async pricingForNewCart(db: Sql | Tx, choice: RegionChoice, promotionIds: readonly string[]) {
    const [regionId, currency, preferredId] =
      "regionId" in choice ? [choice.regionId, null, choice.regionId] : [null, choice.currency, choice.preferredId];
    const chosenRegion = `(
      select r.id from regions r
      where case when $1::text is not null then r.id = $1::text else r.currency = $2::text end
      order by r.id = $3::text desc, r.id limit 1)`;
    const [row] = await db.unsafe<PricingRow[]>(
      `select ${pricingColumns(chosenRegion, "$4::text[]", "'{}'::text[]")}`,
      [regionId, currency, preferredId, promotionIds as string[]],
      { prepare: true },
    );
    return pricingFromRow(row!);
  }

  /**
   * The promotions the codes name (case-insensitively), by normalized code,
   * with how many orders used each, in all and of `customerId`. Only a
   * preview: CompleteCart counts again under lockPromotionUsage.
   */
  async lookupCodes(tx: Tx, codes: readonly string[], customerId: string): Promise<Map<string, CodeLookup>> {
    const normalized = [...new Set(codes.map(normalizeCode))];
    const rows = await tx<Row<PromotionRow>[]>`
      select row_to_json(p) as row from promotions p where upper(p.code) = any(${normalized}::text[]) order by p.id`;
    const promotions = rows.map(({ row }) => promotionFromRow(row));
    const usage = await countUsage(tx, promotions.filter(hasUsageLimit).map((promotion) => promotion.id), customerId);
    const unused: PromotionUsage = { total: 0, byCustomer: 0 };
    return new Map(
      promotions.map((promotion) => [normalizeCode(promotion.code!), { promotion, usage: usage.get(promotion.id) ?? unused }]),
    );
  }

  /**
   * Locks the promotions until the transaction ends and then counts the
   * orders that used each, in all and of `customerId`. Completions of carts
   * holding the same promotion thus count one after the other, each seeing
   * the uses the others committed; locking in id order keeps them from
   * deadlocking.
   */
  async lockPromotionUsage(tx: Tx, promotionIds: readonly string[], customerId: string): Promise<Map<string, PromotionUsage>> {
    if (promotionIds.length === 0) return new Map();
    await tx`select 1 from promotions where id = any(${promotionIds as string[]}::text[]) order by id for update`;
    // A separate statement: under READ COMMITTED it sees what was committed while it waited for the locks.
    return countUsage(tx, promotionIds, customerId);
  }

  // Regions

  /** Creates or replaces a region; its currency is fixed once it exists, since carts and prices in it use that currency. */
  async upsertRegion(region: Omit<Region, "createdAt" | "updatedAt">, now: Date): Promise<Region> {
    return this.sql.begin(async (tx) => {
      const [existing] = await tx<{ currency: string }[]>`select currency from regions where id = ${region.id} for update`;
      if (existing && existing.currency !== region.currency) {
        throw new DomainError(
          "failed_precondition",
          `region ${region.id} sells in ${existing.currency}; a region's currency cannot change (create another region)`,
        );
      }
      const [stored] = await tx<Row<RegionRow>[]>`
        insert into regions as r (id, name, currency, countries, prices_include_tax, default_tax_rate_ppm, default_tax_class_rates,
                                  tax_rates, payment_provider_ids, created_at, updated_at)
        values (${region.id}, ${region.name}, ${region.currency}, ${region.countries as string[]}::text[], ${region.tax.pricesIncludeTax},
                ${region.tax.defaults.ratePpm}, ${toJsonText(region.tax.defaults.classRates ?? [])}::jsonb,
                ${toJsonText(region.tax.countries)}::jsonb, ${region.paymentProviderIds as string[]}::text[], ${now.toISOString()}, ${now.toISOString()})
        on conflict (id) do update set name = excluded.name, countries = excluded.countries,
          prices_include_tax = excluded.prices_include_tax, default_tax_rate_ppm = excluded.default_tax_rate_ppm,
          default_tax_class_rates = excluded.default_tax_class_rates, tax_rates = excluded.tax_rates,
          payment_provider_ids = excluded.payment_provider_ids, updated_at = excluded.updated_at
        returning row_to_json(r) as row`;
      return regionFromRow(stored!.row);
    }) as Promise<Region>;
  }

  /** Creates the region unless one with its id exists (whatever that one looks like). */
  async ensureRegion(region: Region, db: Sql | Tx = this.sql): Promise<void> {
    await db`
      insert into regions (id, name, currency, countries, prices_include_tax, default_tax_rate_ppm, default_tax_class_rates, tax_rates,
                           created_at, updated_at)
      values (${region.id}, ${region.name}, ${region.currency}, ${region.countries as string[]}::text[], ${region.tax.pricesIncludeTax},
              ${region.tax.defaults.ratePpm}, ${toJsonText(region.tax.defaults.classRates ?? [])}::jsonb, ${toJsonText(region.tax.countries)}::jsonb,
              ${region.createdAt.toISOString()}, ${region.updatedAt.toISOString()})
      on conflict (id) do nothing`;
  }

  async getRegion(id: string, db: Sql | Tx = this.sql): Promise<Region | undefined> {
    const [found] = await db<Row<RegionRow>[]>`select row_to_json(r) as row from regions r where r.id = ${id}`;
    return found && regionFromRow(found.row);
  }

  async listRegions(afterId: string | undefined, limit: number): Promise<Region[]> {
    const rows = await this.sql<Row<RegionRow>[]>`
      select row_to_json(r) as row from regions r where ${afterId ?? null}::text is null or r.id > ${afterId ?? null}
      order by r.id limit ${limit}`;
    return rows.map(({ row }) => regionFromRow(row));
  }

  // Sales channels

  async upsertSalesChannel(channel: Omit<SalesChannel, "createdAt" | "updatedAt">, now: Date): Promise<SalesChannel> {
    const [stored] = await this.sql<Row<SalesChannelRow>[]>`
      insert into sales_channels as s (id, name, description, created_at, updated_at)
      values (${channel.id}, ${channel.name}, ${channel.description}, ${now.toISOString()}, ${now.toISOString()})
      on conflict (id) do update set name = excluded.name, description = excluded.description, updated_at = excluded.updated_at
      returning row_to_json(s) as row`;
    return salesChannelFromRow(stored!.row);
  }

  /** Creates the sales channel unless one with its id exists. */
  async ensureSalesChannel(channel: SalesChannel): Promise<void> {
    await this.sql`
      insert into sales_channels (id, name, description, created_at, updated_at)
      values (${channel.id}, ${channel.name}, ${channel.description}, ${channel.createdAt.toISOString()}, ${channel.updatedAt.toISOString()})
      on conflict (id) do nothing`;
  }

  async getSalesChannel(id: string, db: Sql | Tx = this.sql): Promise<SalesChannel | undefined> {
    const [found] = await db<Row<SalesChannelRow>[]>`select row_to_json(s) as row from sales_channels s where s.id = ${id}`;
    return found && salesChannelFromRow(found.row);
  }

  async listSalesChannels(afterId: string | undefined, limit: number): Promise<SalesChannel[]> {
    const rows = await this.sql<Row<SalesChannelRow>[]>`
      select row_to_json(s) as row from sales_channels s where ${afterId ?? null}::text is null or s.id > ${afterId ?? null}
      order by s.id limit ${limit}`;
    return rows.map(({ row }) => salesChannelFromRow(row));
  }

  // Shipping options

  async upsertShippingOption(
    option: Omit<StoredShippingOption, "createdAt" | "updatedAt">,
    now: Date,
  ): Promise<StoredShippingOption> {
    return this.sql.begin(async (tx) => {
      const [region] = await tx`select 1 from regions where id = ${option.regionId} for share`;
      if (!region) throw new DomainError("failed_precondition", `region ${option.regionId} does not exist; create it first`);
      const [stored] = await tx<Row<ShippingOptionRow>[]>`
        insert into shipping_options as o (id, name, region_id, prices, gift_cards_count_towards_free_shipping, created_at, updated_at)
        values (${option.id}, ${option.name}, ${option.regionId}, ${toJsonText(option.prices)}::jsonb,
                ${option.giftCardsCountTowardsFreeShipping ?? false}, ${now.toISOString()}, ${now.toISOString()})
        on conflict (id) do update set name = excluded.name, region_id = excluded.region_id, prices = excluded.prices,
          gift_cards_count_towards_free_shipping = excluded.gift_cards_count_towards_free_shipping, updated_at = excluded.updated_at
        returning row_to_json(o) as row`;
      return shippingOptionFromRow(stored!.row);
    }) as Promise<StoredShippingOption>;
  }

  async getShippingOption(id: string, db: Sql | Tx = this.sql): Promise<StoredShippingOption | undefined> {
    const [found] = await db<Row<ShippingOptionRow>[]>`select row_to_json(o) as row from shipping_options o where o.id = ${id}`;
    return found && shippingOptionFromRow(found.row);
  }

  async listShippingOptions(regionId: string | undefined, afterId: string | undefined, limit: number): Promise<StoredShippingOption[]> {
    const rows = await this.sql<Row<ShippingOptionRow>[]>`
      select row_to_json(o) as row from shipping_options o
      where (${regionId ?? null}::text is null or o.region_id = ${regionId ?? null})
        and (${afterId ?? null}::text is null or o.id > ${afterId ?? null})
      order by o.id limit ${limit}`;
    return rows.map(({ row }) => shippingOptionFromRow(row));
  }

  // Promotions

  /** Creates or replaces a promotion; its code must not be another promotion's (case-insensitively). */
  async upsertPromotion(promotion: Promotion, now: Date): Promise<StoredPromotion> {
    const { value, target } = promotion;
    const code = promotion.code ?? null;
    return this.sql.begin(async (tx) => {
      // Serializes upserts of one code, so the unique index never has to refuse one.
      if (code !== null) await tx`select pg_advisory_xact_lock(hashtext(${`promotion-code:${normalizeCode(code)}`}))`;
      const [taken] = await tx<{ id: string }[]>`select id from promotions where upper(code) = upper(${code}) and id <> ${promotion.id}`;
      if (taken) {
        throw new DomainError("failed_precondition", `promotion code "${code}" is already used by promotion ${taken.id}`);
      }
      const [stored] = await tx<Row<PromotionRow>[]>`
        insert into promotions as p (id, code, kind, percentage_bp, fixed_amounts, target, product_ids, minimum_subtotal,
                                     starts_at, ends_at, usage_limit, usage_limit_per_customer, created_at, updated_at)
        values (${promotion.id}, ${code}, ${value.kind}, ${value.kind === "percentage" ? value.basisPoints : null},
                ${toJsonText(value.kind === "fixed" ? value.amounts : [])}::jsonb, ${target.kind},
                ${target.kind === "products" ? (target.productIds as string[]) : []}::text[],
                ${toJsonText(promotion.minimumSubtotal ?? [])}::jsonb,
                ${promotion.startsAt?.toISOString() ?? null}, ${promotion.endsAt?.toISOString() ?? null},
                ${promotion.usageLimit ?? null}, ${promotion.usageLimitPerCustomer ?? null}, ${now.toISOString()}, ${now.toISOString()})
        on conflict (id) do update set code = excluded.code, kind = excluded.kind, percentage_bp = excluded.percentage_bp,
          fixed_amounts = excluded.fixed_amounts, target = excluded.target, product_ids = excluded.product_ids,
          minimum_subtotal = excluded.minimum_subtotal, starts_at = excluded.starts_at, ends_at = excluded.ends_at,
          usage_limit = excluded.usage_limit, usage_limit_per_customer = excluded.usage_limit_per_customer,
          updated_at = excluded.updated_at
        returning row_to_json(p) as row`;
      return promotionFromRow(stored!.row);
    }) as Promise<StoredPromotion>;
  }

  async getPromotion(id: string): Promise<StoredPromotion | undefined> {
    const [found] = await this.sql<Row<PromotionRow>[]>`select row_to_json(p) as row from promotions p where p.id = ${id}`;
    return found && promotionFromRow(found.row);
  }

  async listPromotions(afterId: string | undefined, limit: number): Promise<StoredPromotion[]> {
    const rows = await this.sql<Row<PromotionRow>[]>`
      select row_to_json(p) as row from promotions p where ${afterId ?? null}::text is null or p.id > ${afterId ?? null}
      order by p.id limit ${limit}`;
    return rows.map(({ row }) => promotionFromRow(row));
  }
}
