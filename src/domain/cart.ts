import { currencyExponent } from "./currency.js";
import { DomainError } from "./errors.js";
import { selectPrice, type TieredPrice } from "./pricing.js";
import { followCartTotal, newPaymentCollection, type PaymentCollection, startPaymentSession as startSession } from "./payment.js";
import type { ProductDetails } from "./product.js";
import { type Promotion, type PromotionUsage, promotionCodeRefusal, promotionRefusalError } from "./promotions.js";
import { quoteShippingOption, type ShippingCharge } from "./shipping.js";
import { type NamedShippingOption, type Region, regionShipsTo } from "./store.js";
import { computeTotals, type Totals } from "./totals.js";

export type CartStatus = "active" | "completed" | "deleted" | "expired" | "merged";

export interface LineItem {
  readonly id: string;
  readonly productId: string;
  readonly title: string;
  readonly quantity: number;
  /** Minor units of the cart currency, selected for the line's quantity, currency and region. */
  readonly unitPrice: bigint;
  readonly compareAtUnitPrice?: bigint;
  readonly discountable: boolean;
  readonly shippable: boolean;
  readonly taxClass: string;
  readonly giftCard: boolean;
  /** The product's details when the line was added. */
  readonly details: ProductDetails;
  /** Given when the line was added (UpdateLineItem may replace it): the same product with other metadata is another line. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface Address {
  readonly name: string;
  readonly company: string;
  readonly line1: string;
  readonly line2: string;
  readonly city: string;
  readonly postalCode: string;
  /** ISO 3166-2 subdivision code ("CA" for US-CA) or free text. */
  readonly province: string;
  /** ISO 3166-1 alpha-2. */
  readonly country: string;
  readonly phone: string;
}

export interface ShippingMethod {
  readonly id: string;
  readonly shippingOptionId: string;
  readonly name: string;
  /** The option's price in the cart currency when the cart was last priced. */
  readonly charge: ShippingCharge;
}

/** A promotion the cart holds because a customer applied its code. */
export interface HeldPromotion {
  readonly promotionId: string;
  readonly code: string;
}

export interface Cart {
  readonly id: string;
  readonly customerId: string;
  readonly status: CartStatus;
  readonly regionId: string;
  /** Always the region's currency. */
  readonly currency: string;
  readonly salesChannelId: string;
  readonly email: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly shippingAddress?: Address;
  readonly billingAddress?: Address;
  /** Oldest first. */
  readonly lines: readonly LineItem[];
  /** At most one. */
  readonly shippingMethods: readonly ShippingMethod[];
  /** In the order they were applied. */
  readonly promotions: readonly HeldPromotion[];
  /** computeTotals' result when the cart last changed. */
  readonly totals: Totals;
  readonly itemQuantity: number;
  /** Bumped by every change; the etag is derived from it. */
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** When an active cart stops accepting changes (cartExpireTime), or an expired cart did; undefined in every other status. */
  readonly expireTime?: Date;
  /** The order CompleteCart made of the cart. */
  readonly orderId?: string;
  /** The cart MergeCarts moved this cart's lines into. */
  readonly mergedIntoCartId?: string;
  /** How the cart is going to be paid; its amount and currency follow the cart's. */
  readonly paymentCollection?: PaymentCollection;
}

/** A cart without its lines and amounts, as reads that return none of them fetch it. */
export type CartSummary = Omit<Cart, "lines" | "shippingMethods" | "totals">;

/** A cart before its totals are computed. */
type CartState = Omit<Cart, "totals" | "itemQuantity">;

/** What the catalog says about one product, with its prices in the cart's currency. */
export interface ProductOffer {
  readonly title: string;
  readonly active: boolean;
  readonly discountable: boolean;
  readonly shippable: boolean;
  readonly taxClass: string;
  readonly giftCard: boolean;
  /** Empty: sold in every sales channel. */
  readonly salesChannelIds: readonly string[];
  readonly details: ProductDetails;
  readonly prices: readonly TieredPrice[];
}

export interface CartLimits {
  readonly maxLines: number;
  readonly maxLineQuantity: number;
  /** How long an active cart with lines lives after its last change. */
  readonly lifetimeMs: number;
  /** How long an active empty cart lives after its last change (abandoned empty carts go sooner). */
  readonly emptyLifetimeMs: number;
}

/**
 * When a cart in this state expires: its last change plus the lifetime for
 * carts with or without lines. Only active carts expire.
 */
export function cartExpireTime(cart: Pick<Cart, "status" | "lines" | "updatedAt">, limits: CartLimits): Date | undefined {
  if (cart.status !== "active") return undefined;
  const lifetime = cart.lines.length > 0 ? limits.lifetimeMs : limits.emptyLifetimeMs;
  return new Date(cart.updatedAt.getTime() + lifetime);
}

/** The reference data a cart's totals depend on. */
export interface PricingContext {
  /** The cart's region (after the change, when the change moves the cart). */
  readonly region: Region;
  /** Every automatic promotion, and at least the promotions the cart holds. */
  readonly promotions: readonly Promotion[];
  /** At least the options of the cart's shipping methods. */
  readonly shippingOptions: readonly NamedShippingOption[];
}

/** What every change needs besides the cart. */
export interface ChangeContext {
  readonly now: Date;
  readonly limits: CartLimits;
  readonly pricing: PricingContext;
}

/**
 * The one place a cart's totals are derived: shipping methods are quoted
 * again (those that no longer apply are dropped), held promotions take their
 * current codes, and computeTotals (docs/totals.md) prices everything.
 */
function priced(state: CartState, pricing: PricingContext, now: Date): Cart {
  const { region } = pricing;
  if (region.id !== state.regionId) {
    throw new Error(`cart ${state.id} is in region ${state.regionId}, but was priced with region ${region.id}`);
  }
  const promotionsById = new Map(pricing.promotions.map((promotion) => [promotion.id, promotion]));
  const promotions = state.promotions.flatMap((held): HeldPromotion[] => {
    const code = promotionsById.get(held.promotionId)?.code;
    return code === undefined ? [] : [{ promotionId: held.promotionId, code }];
  });
  const hasShippableItems = state.lines.some((line) => line.shippable);
  const shippingMethods = state.shippingMethods.flatMap((method): ShippingMethod[] => {
    const option = pricing.shippingOptions.find((candidate) => candidate.id === method.shippingOptionId);
    const quote = option && quoteShippingOption(option, { regionId: region.id, currency: state.currency, hasShippableItems });
    return option && quote?.ok ? [{ ...method, name: option.name, charge: quote.charge }] : [];
  });
  const held = new Set(promotions.map((promotion) => promotion.promotionId));
  const totals = computeTotals({
    currency: state.currency,
    tax: region.tax,
    address: state.shippingAddress && {
      country: state.shippingAddress.country,
      province: state.shippingAddress.province || undefined,
    },
    lines: state.lines,
    shippingMethods: shippingMethods.map((method) => ({ id: method.id, charge: method.charge })),
    promotions: pricing.promotions.filter((promotion) => promotion.code === undefined || held.has(promotion.id)),
    now,
  });
  const itemQuantity = state.lines.reduce((sum, line) => sum + line.quantity, 0);
  const paymentCollection = state.paymentCollection && followCartTotal(state.paymentCollection, state.currency, totals.cart.total, now);
  return { ...state, promotions, shippingMethods, totals, itemQuantity, paymentCollection };
}

type Changeable = Omit<CartState, "id" | "version" | "createdAt" | "updatedAt">;

/** A changed cart, one version later, priced, with its expiry moved on. */
export function revise(cart: Cart, change: Partial<Changeable>, context: ChangeContext): Cart {
  const { totals: _totals, itemQuantity: _itemQuantity, ...state } = cart;
  const changed = { ...state, ...change, version: cart.version + 1, updatedAt: context.now };
  return priced({ ...changed, expireTime: cartExpireTime(changed, context.limits) }, context.pricing, context.now);
}

export interface NewCart {
  readonly id: string;
  readonly customerId: string;
  readonly salesChannelId: string;
  readonly email: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly shippingAddress?: Address;
  readonly billingAddress?: Address;
}

/** A product to put in a cart, with what the catalog says about it (undefined: unknown product). */
export interface ItemToAdd {
  readonly productId: string;
  readonly quantity: number;
  /** The line's metadata; none is {}. */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly offer: ProductOffer | undefined;
  /** Id for the line, used only when the product is not in the cart yet. */
  readonly newLineId: string;
}

/** A promotion code looked up for a cart, with its usage (undefined: no promotion has the code). */
export interface CodeLookup {
  readonly promotion: Promotion;
  readonly usage: PromotionUsage;
}

/**
 * A new active cart in the pricing context's region, holding `items` (merged
 * by product as AddLineItem would) and the promotions of `codes` (applied as
 * ApplyPromotionCodes would).
 */
export function createCart(
  input: NewCart,
  items: readonly ItemToAdd[],
  codes: { readonly codes: readonly string[]; readonly found: ReadonlyMap<string, CodeLookup> },
  context: ChangeContext,
): Cart {
  const { region } = context.pricing;
  currencyExponent(region.currency);
  checkShippingAddress(region, input.shippingAddress);
  const empty = priced(
    {
      ...input,
      status: "active",
      regionId: region.id,
      currency: region.currency,
      lines: [],
      shippingMethods: [],
      promotions: [],
      version: 1,
      createdAt: context.now,
      updatedAt: context.now,
    },
    context.pricing,
    context.now,
  );
  const filled = items.reduce((cart, item) => addLineItem(cart, item, context), empty);
  const promoted = codes.codes.length > 0 ? applyPromotionCodes(filled, codes.codes, codes.found, context) : filled;
  return { ...promoted, version: 1, expireTime: cartExpireTime(promoted, context.limits) };
}

/** Only an active cart that has not passed its expire time (the sweeper may not have marked it yet) can change. */
export function assertMutable(cart: Cart, now: Date): void {
  if (cart.status !== "active") {
    throw new DomainError("failed_precondition", `cart ${cart.id} is ${cart.status} and can no longer be changed`);
  }
  if (cart.expireTime && cart.expireTime <= now) {
    throw new DomainError(
      "failed_precondition",
      `cart ${cart.id} expired at ${cart.expireTime.toISOString()} and can no longer be changed`,
    );
  }
}

type LinePricing = Pick<LineItem, "title" | "unitPrice" | "compareAtUnitPrice" | "discountable" | "shippable" | "taxClass" | "giftCard">;

/** The product's offer, or why the cart's sales channel cannot sell it. */
function sellable(productId: string, offer: ProductOffer | undefined, salesChannelId: string): ProductOffer {
  if (!offer) {
    throw new DomainError("not_found", `product ${productId} does not exist`);
  }
  if (!offer.active) {
    throw new DomainError("failed_precondition", `product ${productId} is not active`);
  }
  if (offer.salesChannelIds.length > 0 && !offer.salesChannelIds.includes(salesChannelId)) {
    throw new DomainError("failed_precondition", `product ${productId} is not sold in sales channel ${salesChannelId}`);
  }
  return offer;
}

/** What a line of `quantity` units of a product costs in the cart, or why the cart cannot sell it. */
export function priceLine(
  cart: Pick<Cart, "currency" | "regionId" | "salesChannelId">,
  productId: string,
  quantity: number,
  productOffer: ProductOffer | undefined,
): LinePricing {
  const offer = sellable(productId, productOffer, cart.salesChannelId);
  const { currency, regionId } = cart;
  const price = selectPrice(offer.prices, { currency, regionId, quantity });
  if (!price) {
    const tiers = offer.prices.filter(
      (candidate) => candidate.currency === currency && (candidate.regionId ?? regionId) === regionId,
    );
    const smallest = Math.min(...tiers.map((tier) => tier.minQuantity));
    throw new DomainError(
      "failed_precondition",
      tiers.length === 0
        ? `product ${productId} has no price in ${currency} in region ${regionId}`
        : `product ${productId} has no price in ${currency} for ${quantity} units; its prices start at ${smallest} units`,
    );
  }
  return {
    title: offer.title,
    unitPrice: price.amount,
    compareAtUnitPrice: price.compareAtAmount,
    discountable: offer.discountable,
    shippable: offer.shippable,
    taxClass: offer.taxClass,
    giftCard: offer.giftCard,
  };
}

function checkQuantity(quantity: number, productId: string, limits: CartLimits): void {
  if (quantity > limits.maxLineQuantity) {
    throw new DomainError(
      "failed_precondition",
      `quantity ${quantity} of product ${productId} exceeds the maximum of ${limits.maxLineQuantity} per line`,
    );
  }
}

/** Whether two metadata maps hold the same pairs (in any order). */
export function sameMetadata(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

/** The line that new units of a product with this metadata join: the one of that product with equal metadata. */
export function lineFor(
  lines: readonly LineItem[],
  units: { readonly productId: string; readonly metadata: Readonly<Record<string, string>> },
): LineItem | undefined {
  return lines.find((line) => line.productId === units.productId && sameMetadata(line.metadata, units.metadata));
}

/**
 * Adds units of a product. A line of the product with equal metadata gets
 * them (quantities add up), otherwise they make a new line, which keeps the
 * product's details as they are now; either way the line is priced at the
 * catalog's price for its new quantity.
 */
export function addLineItem(cart: Cart, item: ItemToAdd, context: ChangeContext): Cart {
  assertMutable(cart, context.now);
  const { productId, offer } = item;
  const metadata = item.metadata ?? {};
  const existing = lineFor(cart.lines, { productId, metadata });
  const quantity = (existing?.quantity ?? 0) + item.quantity;
  const pricing = priceLine(cart, productId, quantity, offer);
  checkQuantity(quantity, productId, context.limits);
  const { now } = context;
  if (existing) {
    const lines = cart.lines.map((line) => (line === existing ? { ...line, ...pricing, quantity, updatedAt: now } : line));
    return revise(cart, { lines }, context);
  }
  if (cart.lines.length >= context.limits.maxLines) {
    throw new DomainError("failed_precondition", `cart ${cart.id} already has the maximum of ${context.limits.maxLines} lines`);
  }
  const line: LineItem = {
    id: item.newLineId,
    productId,
    quantity,
    ...pricing,
    details: offer!.details,
    metadata,
    createdAt: now,
    updatedAt: now,
  };
  return revise(cart, { lines: [...cart.lines, line] }, context);
}

function findLine(cart: Cart, lineId: string): LineItem {
  const line = cart.lines.find((candidate) => candidate.id === lineId);
  if (!line) {
    throw new DomainError("not_found", `cart ${cart.id} has no line item ${lineId}`);
  }
  return line;
}

/**
 * Sets a line's quantity (undefined keeps it; 0 removes the line) and, when
 * given, replaces its metadata (it stays a line of its own even when another
 * line of the product has equal metadata). The line is priced again at the
 * catalog's price for its quantity, so crossing a quantity tier changes its
 * unit price; `offers` holds the line's product.
 */
export function updateLineItem(
  cart: Cart,
  lineId: string,
  newQuantity: number | undefined,
  offers: ReadonlyMap<string, ProductOffer>,
  context: ChangeContext,
  metadata?: Readonly<Record<string, string>>,
): Cart {
  assertMutable(cart, context.now);
  const target = findLine(cart, lineId);
  if (newQuantity === 0) {
    return revise(cart, { lines: cart.lines.filter((line) => line !== target) }, context);
  }
  const quantity = newQuantity ?? target.quantity;
  const pricing = priceLine(cart, target.productId, quantity, offers.get(target.productId));
  checkQuantity(quantity, target.productId, context.limits);
  const lines = cart.lines.map((line) =>
    line === target ? { ...line, ...pricing, quantity, ...(metadata && { metadata }), updatedAt: context.now } : line,
  );
  return revise(cart, { lines }, context);
}

export function removeLineItem(cart: Cart, lineId: string, context: ChangeContext): Cart {
  assertMutable(cart, context.now);
  const target = findLine(cart, lineId);
  return revise(cart, { lines: cart.lines.filter((line) => line !== target) }, context);
}

function checkShippingAddress(region: Region, address: Address | undefined): void {
  if (address && !regionShipsTo(region, address.country)) {
    throw new DomainError(
      "failed_precondition",
      `region ${region.id} does not ship to ${address.country}; its countries are ${region.countries.join(", ")}`,
    );
  }
}

/** Catalog offers of the products in a cart, by product id. */
export type Offers = ReadonlyMap<string, ProductOffer>;

export interface CartChanges {
  /** Move to this region (UpdateCart region_id): every line is priced again there from `offers`. */
  readonly region?: { readonly region: Region; readonly offers: Offers };
  /**
   * The currency the caller named, with the region chosen for it. With
   * `region` it must be that region's currency; without, a different currency
   * moves the cart to `region`, which is allowed only while the cart is empty
   * (its lines are priced in the old currency).
   */
  readonly currency?: { readonly currency: string; readonly region: Region };
  /** Sell through this channel: every product in the cart must be sold there. */
  readonly salesChannel?: { readonly id: string; readonly offers: Offers };
  /** null removes the address. */
  readonly shippingAddress?: Address | null;
  readonly billingAddress?: Address | null;
  readonly email?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Adds a cause to a refusal: "cannot move cart … to region eu: product … has no price in EUR". */
function explained<T>(prefix: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof DomainError) throw new DomainError(error.reason, `${prefix}: ${error.message}`, error.facts);
    throw error;
  }
}

/** The region a change moves the cart to, or its own; checks the currency the caller named. */
function targetRegion(cart: Cart, changes: CartChanges, current: Region): Region {
  const named = changes.currency;
  if (changes.region) {
    const { region } = changes.region;
    if (named && named.currency !== region.currency) {
      throw new DomainError(
        "invalid_argument",
        `currency ${named.currency} is not the currency of region ${region.id} (${region.currency})`,
      );
    }
    return region;
  }
  if (!named || named.currency === cart.currency) return current;
  if (cart.lines.length > 0) {
    throw new DomainError(
      "failed_precondition",
      `cart ${cart.id} has line items; its currency can only change while it is empty (set region_id to move it to a region in another currency)`,
    );
  }
  return named.region;
}

/**
 * Changes cart-level fields, all or none. Moving to another region prices
 * every line again in its currency and region (a product without a price
 * there refuses the move) and keeps only shipping methods that still apply;
 * the shipping address must be in the cart's (new) region. The pricing
 * context must be the one of the region the cart ends up in.
 */
export function updateCart(cart: Cart, changes: CartChanges, context: ChangeContext): Cart {
  assertMutable(cart, context.now);
  const region = targetRegion(cart, changes, context.pricing.region);
  const regionChanges = region.id !== cart.regionId;
  const salesChannelId = changes.salesChannel?.id ?? cart.salesChannelId;
  const moved = { regionId: region.id, currency: region.currency, salesChannelId };
  let lines = cart.lines;
  if (changes.region && regionChanges) {
    const { offers } = changes.region;
    lines = explained(`cannot move cart ${cart.id} to region ${region.id}`, () =>
      cart.lines.map((line) => ({
        ...line,
        ...priceLine(moved, line.productId, line.quantity, offers.get(line.productId)),
        updatedAt: context.now,
      })),
    );
  }
  if (changes.salesChannel && salesChannelId !== cart.salesChannelId) {
    const { offers } = changes.salesChannel;
    explained(`cannot move cart ${cart.id} to sales channel ${salesChannelId}`, () => {
      for (const line of cart.lines) sellable(line.productId, offers.get(line.productId), salesChannelId);
    });
  }
  const shippingAddress = changes.shippingAddress === undefined ? cart.shippingAddress : (changes.shippingAddress ?? undefined);
  // Checked when it or the region changes: a region that stops shipping somewhere does not lock its carts.
  if (changes.shippingAddress !== undefined || regionChanges) checkShippingAddress(region, shippingAddress);
  const billingAddress = changes.billingAddress === undefined ? cart.billingAddress : (changes.billingAddress ?? undefined);
  return revise(
    cart,
    {
      ...moved,
      lines,
      shippingAddress,
      billingAddress,
      ...(changes.email !== undefined && { email: changes.email }),
      ...(changes.metadata !== undefined && { metadata: changes.metadata }),
    },
    context,
  );
}

/** Codes compare case-insensitively. */
export function normalizeCode(code: string): string {
  return code.toUpperCase();
}

/**
 * Applies promotion codes, all or none. `found` holds, by normalized code,
 * the promotion each code names with its current usage. A code the cart
 * already holds is kept as it is; any other must pass promotionCodeRefusal
 * (unknown, not started, expired, used up, wrong currency, minimum not met),
 * else the first refusal is the error.
 */
export function applyPromotionCodes(
  cart: Cart,
  codes: readonly string[],
  found: ReadonlyMap<string, CodeLookup>,
  context: ChangeContext,
): Cart {
  assertMutable(cart, context.now);
  const promotions = [...cart.promotions];
  for (const code of codes) {
    const lookup = found.get(normalizeCode(code));
    if (lookup && promotions.some((held) => held.promotionId === lookup.promotion.id)) continue;
    const refusal = promotionCodeRefusal(code, lookup?.promotion, {
      now: context.now,
      currency: cart.currency,
      itemSubtotal: cart.totals.cart.itemSubtotal,
      usage: lookup?.usage,
    });
    if (refusal) throw promotionRefusalError(refusal);
    // Found by its code, so the promotion has one; an unknown code was refused above.
    const { id, code: promotionCode } = lookup!.promotion;
    promotions.push({ promotionId: id, code: promotionCode! });
  }
  return revise(cart, { promotions }, context);
}

/** Removes held promotion codes; each must be held. */
export function removePromotionCodes(cart: Cart, codes: readonly string[], context: ChangeContext): Cart {
  assertMutable(cart, context.now);
  const removed = new Set(codes.map(normalizeCode));
  for (const code of codes) {
    if (!cart.promotions.some((held) => normalizeCode(held.code) === normalizeCode(code))) {
      throw new DomainError("not_found", `cart ${cart.id} holds no promotion code "${code}"`);
    }
  }
  return revise(cart, { promotions: cart.promotions.filter((held) => !removed.has(normalizeCode(held.code))) }, context);
}

/**
 * Ships the cart with `option`, replacing the method chosen before. The
 * option must belong to the cart's region, have a price in its currency, and
 * the cart must hold something that ships.
 */
export function addShippingMethod(cart: Cart, option: NamedShippingOption, newMethodId: string, context: ChangeContext): Cart {
  assertMutable(cart, context.now);
  const quote = quoteShippingOption(option, {
    regionId: cart.regionId,
    currency: cart.currency,
    hasShippableItems: cart.lines.some((line) => line.shippable),
  });
  if (!quote.ok) {
    throw new DomainError("failed_precondition", `cart ${cart.id} cannot ship with option ${option.id}: ${quote.message}`, {
      shippingRefusal: quote.reason,
    });
  }
  const method: ShippingMethod = { id: newMethodId, shippingOptionId: option.id, name: option.name, charge: quote.charge };
  return revise(cart, { shippingMethods: [method] }, context);
}

export function removeShippingMethod(cart: Cart, methodId: string, context: ChangeContext): Cart {
  assertMutable(cart, context.now);
  if (!cart.shippingMethods.some((method) => method.id === methodId)) {
    throw new DomainError("not_found", `cart ${cart.id} has no shipping method ${methodId}`);
  }
  return revise(cart, { shippingMethods: cart.shippingMethods.filter((method) => method.id !== methodId) }, context);
}

/** Soft delete: the cart stays readable but refuses every change. */
export function deleteCart(cart: Cart, context: ChangeContext): Cart {
  assertMutable(cart, context.now);
  return revise(cart, { status: "deleted" }, context);
}

/**
 * Marks an active cart whose expire_time has come as expired: one version
 * later, updated at `now`, keeping its expire_time as the moment it expired.
 * Any other cart is returned as it is (unchanged, so not written).
 */
export function expireCart(cart: Cart, now: Date): Cart {
  if (cart.status !== "active" || !cart.expireTime || cart.expireTime > now) return cart;
  return { ...cart, status: "expired", version: cart.version + 1, updatedAt: now };
}

/** Carts of shoppers who have not signed in belong to a customer id with this prefix. */
export const guestCustomerPrefix = "guest:";

export function isGuestCart(cart: Pick<Cart, "customerId">): boolean {
  return cart.customerId.startsWith(guestCustomerPrefix);
}

/**
 * Gives the cart to another customer (a guest's cart to the customer who
 * signed in). Giving it to its owner changes nothing, so a retry succeeds.
 */
export function transferCart(cart: Cart, customerId: string, context: ChangeContext): Cart {
  assertMutable(cart, context.now);
  if (customerId === cart.customerId) return cart;
  return revise(cart, { customerId }, context);
}

/** Gives an active cart its payment collection; a cart that has one is returned unchanged. */
export function createPaymentCollection(cart: Cart, collectionId: string, context: ChangeContext): Cart {
  assertMutable(cart, context.now);
  if (cart.paymentCollection) return cart;
  const collection = newPaymentCollection(collectionId, cart.currency, cart.totals.cart.total, context.now);
  return revise(cart, { paymentCollection: collection }, context);
}

/**
 * Starts a payment session with a provider of the cart's region, replacing
 * the collection's sessions. The cart is priced first, so the session is for
 * the total the cart shows after this change.
 */
export function startPaymentSession(
  cart: Cart,
  session: { readonly id: string; readonly providerId: string; readonly data: Readonly<Record<string, string>> },
  context: ChangeContext,
): Cart {
  assertMutable(cart, context.now);
  if (!cart.paymentCollection) throw new DomainError("failed_precondition", `cart ${cart.id} has no payment collection`);
  const repriced = revise(cart, {}, context);
  return { ...repriced, paymentCollection: startSession(repriced.paymentCollection!, context.pricing.region, session, context.now) };
}

export function etagOf(cart: Pick<Cart, "version">): string {
  return String(cart.version);
}

/**
 * Optimistic concurrency (AIP-154): a change that names the etag it was based
 * on applies only while the cart is still at that version. An empty etag
 * means the caller did not ask for the check.
 */
export function checkEtag(cart: Cart, expected: string): void {
  const current = etagOf(cart);
  if (expected !== "" && expected !== current) {
    throw new DomainError(
      "conflict",
      `cart ${cart.id} was changed by another request: its etag is now ${current}, not ${expected}; read it again and retry`,
      { current_etag: current },
    );
  }
}
