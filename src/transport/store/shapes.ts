import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import type { Address, Adjustment, Cart, LineItem, LineTotals, ShippingMethod, TaxLine } from "../../../gen/commerce/cart/v1/cart_pb.js";
import { type PaymentCollection, PaymentSessionStatus } from "../../../gen/commerce/cart/v1/payment_pb.js";
import type { Order } from "../../../gen/commerce/cart/v1/order_pb.js";
import type { Region } from "../../../gen/commerce/cart/v1/region_pb.js";
import type { ShippingOption } from "../../../gen/commerce/cart/v1/shipping_option_pb.js";
import { CartStatus } from "../../../gen/commerce/cart/v1/cart_pb.js";
import { majorUnits } from "./money.js";

/**
 * Our messages as the Store API's JSON (Medusa 2.21's shapes): snake_case,
 * `null` for what is unset, `[]` for empty lists, lowercase currency codes,
 * money as numbers of major units. Each builds the complete object; the
 * `fields` selection then picks from it (fields.ts).
 */

/** Customer ids of carts nobody signed in for; Medusa shows no customer for them. */
const guestPrefix = "guest:";

function iso(timestamp: Timestamp | undefined): string | null {
  return timestamp ? timestampDate(timestamp).toISOString() : null;
}

function orNull(value: string): string | null {
  return value === "" ? null : value;
}

/** A basis-point rate as Medusa's percent number (1925 → 19.25), from its decimal text. */
/** A rate in parts per million as a percentage: 88750 → 8.875 (an integer over 10⁴ is the nearest double to the decimal, as the literal is). */
function percent(ratePpm: number): number {
  return ratePpm / 10_000;
}

const countryNames = new Intl.DisplayNames(["en"], { type: "region" });

export function regionJson(region: Region): JsonObject {
  return {
    id: region.id,
    name: region.name,
    currency_code: region.currency.toLowerCase(),
    automatic_taxes: true,
    countries: region.countries.map((country) => ({
      id: country.toLowerCase(),
      iso_2: country.toLowerCase(),
      iso_3: null,
      num_code: null,
      name: (countryNames.of(country) ?? country).toUpperCase(),
      display_name: countryNames.of(country) ?? country,
      region_id: region.id,
    })),
    payment_providers: paymentProviderIdsOf(region).map((id) => ({ id: storePaymentProviderId(id), is_enabled: true })),
    metadata: null,
    created_at: iso(region.createdAt),
    updated_at: iso(region.updatedAt),
    deleted_at: null,
  };
}

/** Our built-in provider, which authorizes at completion and moves no money, under Medusa's name for its own. */
const systemProvider = { ours: "system", store: "pp_system_default" };

/** A region without a list of providers offers the built-in one. */
export function paymentProviderIdsOf(region: Region): string[] {
  return region.paymentProviderIds.length > 0 ? region.paymentProviderIds : [systemProvider.ours];
}

/** Payment provider ids as the Store API names them: Medusa's `pp_` prefix. */
export function storePaymentProviderId(id: string): string {
  return id === systemProvider.ours ? systemProvider.store : `pp_${id}`;
}

export function paymentProviderIdFromStore(id: string): string {
  return id === systemProvider.store ? systemProvider.ours : id.replace(/^pp_/, "");
}

const sessionStatuses: Record<PaymentSessionStatus, string> = {
  [PaymentSessionStatus.UNSPECIFIED]: "pending",
  [PaymentSessionStatus.PENDING]: "pending",
  [PaymentSessionStatus.AUTHORIZED]: "authorized",
};

export function paymentCollectionJson(collection: PaymentCollection | undefined): JsonObject | null {
  if (!collection) return null;
  const money = moneyIn(collection.currency);
  return {
    id: collection.id,
    currency_code: collection.currency.toLowerCase(),
    amount: money(collection.amountCents),
    status: collection.sessions.some((session) => session.status === PaymentSessionStatus.AUTHORIZED) ? "authorized" : "not_paid",
    payment_providers: [],
    payment_sessions: collection.sessions.map((session) => ({
      id: session.id,
      amount: money(session.amountCents),
      currency_code: session.currency.toLowerCase(),
      provider_id: storePaymentProviderId(session.providerId),
      data: { ...session.data },
      status: sessionStatuses[session.status],
      payment_collection_id: collection.id,
      created_at: iso(session.createdAt),
      updated_at: iso(session.updatedAt),
    })),
    created_at: iso(collection.createdAt),
    updated_at: iso(collection.updatedAt),
  };
}

/** Our one `name` split at its first space; Medusa keeps first and last name apart. */
function addressJson(address: Address | undefined, id: string): JsonObject | null {
  if (!address) return null;
  const space = address.name.indexOf(" ");
  return {
    id,
    customer_id: null,
    first_name: orNull(space < 0 ? address.name : address.name.slice(0, space)),
    last_name: space < 0 ? null : address.name.slice(space + 1),
    company: orNull(address.company),
    address_1: orNull(address.line1),
    address_2: orNull(address.line2),
    city: orNull(address.city),
    postal_code: orNull(address.postalCode),
    country_code: orNull(address.country.toLowerCase()),
    province: orNull(address.province),
    phone: orNull(address.phone),
    metadata: null,
  };
}

type Money = (minorUnits: bigint | undefined) => number;

function moneyIn(currency: string): Money {
  return (minorUnits) => majorUnits(minorUnits ?? 0n, currency);
}

function taxLinesJson(taxLines: readonly TaxLine[], ownerId: string, owner: "item_id" | "shipping_method_id", money: Money): JsonValue[] {
  return taxLines.map((taxLine) => ({
    id: `${ownerId}:tax:${taxLine.code}`,
    [owner]: ownerId,
    description: taxLine.code,
    code: taxLine.code,
    rate: percent(taxLine.ratePpm),
    provider_id: "system",
    tax_rate_id: null,
    total: money(taxLine.amountCents),
    subtotal: money(taxLine.amountCents),
    data: null,
    metadata: null,
  }));
}

function adjustmentsJson(adjustments: readonly Adjustment[], ownerId: string, owner: "item_id" | "shipping_method_id", money: Money): JsonValue[] {
  return adjustments.map((adjustment) => ({
    id: `${ownerId}:adjustment:${adjustment.promotionId}`,
    [owner]: ownerId,
    code: orNull(adjustment.code),
    promotion_id: adjustment.promotionId,
    amount: money(adjustment.amountCents),
    is_tax_inclusive: false,
    provider_id: null,
    description: null,
  }));
}

/**
 * The totals Medusa computes for a line or shipping method. Ours are rounded
 * to the currency; "original" is before discounts, with the tax as charged.
 */
function lineTotalsJson(totals: LineTotals | undefined, money: Money): JsonObject {
  const subtotal = totals?.subtotal ?? 0n;
  const discount = totals?.discountTotal ?? 0n;
  const tax = totals?.taxTotal ?? 0n;
  const total = totals?.total ?? 0n;
  return {
    subtotal: money(subtotal),
    discount_total: money(discount),
    discount_subtotal: money(discount),
    discount_tax_total: 0,
    tax_total: money(tax),
    total: money(total),
    original_subtotal: money(subtotal),
    original_tax_total: money(tax),
    original_total: money(total + discount),
  };
}

function lineItemJson(item: LineItem, cartId: string, taxInclusive: boolean, money: Money): JsonObject {
  const totals = lineTotalsJson(item.totals, money);
  return {
    id: item.id,
    cart_id: cartId,
    title: item.title,
    subtitle: orNull(item.subtitle),
    thumbnail: orNull(item.thumbnailUri),
    quantity: item.quantity,
    variant_id: item.productId,
    product_id: item.productId,
    product: { id: item.productId, categories: [], tags: [], collection_id: null, type_id: null },
    variant: { id: item.productId, product_id: item.productId, sku: orNull(item.sku), barcode: null, title: orNull(item.variantTitle) },
    product_title: item.title,
    product_description: null,
    product_subtitle: orNull(item.subtitle),
    product_type: null,
    product_type_id: null,
    product_collection: null,
    product_handle: orNull(item.productHandle),
    variant_sku: orNull(item.sku),
    variant_barcode: null,
    variant_title: orNull(item.variantTitle),
    variant_option_values: null,
    requires_shipping: true,
    is_discountable: true,
    is_giftcard: false,
    is_tax_inclusive: taxInclusive,
    is_custom_price: false,
    compare_at_unit_price: item.compareAtUnitPriceCents === undefined ? null : money(item.compareAtUnitPriceCents),
    unit_price: money(item.unitPriceCents),
    metadata: { ...item.metadata },
    tax_lines: taxLinesJson(item.taxLines, item.id, "item_id", money),
    adjustments: adjustmentsJson(item.adjustments, item.id, "item_id", money),
    ...totals,
    item_total: totals.total!,
    item_subtotal: totals.subtotal!,
    item_tax_total: totals.tax_total!,
    created_at: iso(item.createdAt),
    updated_at: iso(item.updatedAt),
  };
}

function shippingMethodJson(method: ShippingMethod, cartId: string, taxInclusive: boolean, money: Money): JsonObject {
  return {
    id: method.id,
    cart_id: cartId,
    name: method.name,
    description: null,
    amount: money(method.amountCents),
    is_tax_inclusive: taxInclusive,
    shipping_option_id: method.shippingOptionId,
    data: {},
    metadata: null,
    tax_lines: taxLinesJson(method.taxLines, method.id, "shipping_method_id", money),
    adjustments: adjustmentsJson(method.adjustments, method.id, "shipping_method_id", money),
    ...lineTotalsJson(method.totals, money),
  };
}

type Totalled = Pick<Cart, "items" | "shippingMethods" | "totals" | "currency">;

/** The 25 cart totals of Medusa's defaults, and the extras it allows. */
function cartTotalsJson({ totals }: Totalled, money: Money): JsonObject {
  const t = totals;
  const originalItemTotal = (t?.itemTotal ?? 0n) + (t?.itemDiscountTotal ?? 0n);
  const originalShippingTotal = (t?.shippingTotal ?? 0n) + (t?.shippingDiscountTotal ?? 0n);
  return {
    total: money(t?.total),
    subtotal: money(t?.subtotal),
    tax_total: money(t?.taxTotal),
    discount_total: money(t?.discountTotal),
    discount_subtotal: money(t?.discountTotal),
    discount_tax_total: 0,
    original_total: money(originalItemTotal + originalShippingTotal),
    original_subtotal: money(t?.subtotal),
    original_tax_total: money(t?.taxTotal),
    item_total: money(t?.itemTotal),
    item_subtotal: money(t?.itemSubtotal),
    item_tax_total: money(t?.itemTaxTotal),
    item_discount_total: money(t?.itemDiscountTotal),
    original_item_total: money(originalItemTotal),
    original_item_subtotal: money(t?.itemSubtotal),
    original_item_tax_total: money(t?.itemTaxTotal),
    shipping_total: money(t?.shippingTotal),
    shipping_subtotal: money(t?.shippingSubtotal),
    shipping_tax_total: money(t?.shippingTaxTotal),
    shipping_discount_total: money(t?.shippingDiscountTotal),
    original_shipping_tax_total: money(t?.shippingTaxTotal),
    original_shipping_subtotal: money(t?.shippingSubtotal),
    original_shipping_total: money(originalShippingTotal),
    credit_line_subtotal: 0,
    credit_line_tax_total: 0,
    credit_line_total: 0,
    gift_card_total: 0,
    gift_card_tax_total: 0,
  };
}

/** The promotions a cart holds by code, and automatic ones that took something off. */
function promotionsJson(cart: Pick<Cart, "promoCodes" | "items" | "shippingMethods" | "currency">): JsonValue[] {
  const byId = new Map<string, string>();
  for (const adjustment of [...cart.items, ...cart.shippingMethods].flatMap((owner) => owner.adjustments)) {
    byId.set(adjustment.promotionId, adjustment.code);
  }
  const codes = new Map([...byId].map(([id, code]) => [code.toUpperCase(), id]));
  const held = cart.promoCodes.map((code) => ({ id: codes.get(code.toUpperCase()) ?? code, code, is_automatic: false }));
  const automatic = [...byId].filter(([, code]) => code === "").map(([id]) => ({ id, code: null, is_automatic: true }));
  return [...held, ...automatic].map((promotion) => ({
    ...promotion,
    is_tax_inclusive: false,
    application_method: { value: null, type: null, currency_code: cart.currency.toLowerCase() },
  }));
}

function customerJson(customerId: string, email: string): JsonObject | null {
  if (customerId === "" || customerId.startsWith(guestPrefix)) return null;
  return { id: customerId, email: orNull(email), groups: [] };
}

export function cartJson(cart: Cart, region: Region | undefined): JsonObject {
  const money = moneyIn(cart.currency);
  const taxInclusive = region?.pricesIncludeTax ?? false;
  const customer = customerJson(cart.customerId, cart.email);
  const shippingAddressId = cart.shippingAddress ? `${cart.id}:shipping` : null;
  const billingAddressId = cart.billingAddress ? `${cart.id}:billing` : null;
  return {
    id: cart.id,
    currency_code: cart.currency.toLowerCase(),
    email: orNull(cart.email),
    locale: null,
    region_id: orNull(cart.regionId),
    region: region ? regionJson(region) : null,
    customer_id: customer ? cart.customerId : null,
    customer,
    sales_channel_id: orNull(cart.salesChannelId),
    shipping_address_id: shippingAddressId,
    shipping_address: addressJson(cart.shippingAddress, shippingAddressId ?? ""),
    billing_address_id: billingAddressId,
    billing_address: addressJson(cart.billingAddress, billingAddressId ?? ""),
    items: cart.items.map((item) => lineItemJson(item, cart.id, taxInclusive, money)),
    shipping_methods: cart.shippingMethods.map((method) => shippingMethodJson(method, cart.id, taxInclusive, money)),
    promotions: promotionsJson(cart),
    payment_collection: paymentCollectionJson(cart.paymentCollection),
    credit_lines: [],
    metadata: Object.keys(cart.metadata).length > 0 ? { ...cart.metadata } : null,
    created_at: iso(cart.createdAt),
    updated_at: iso(cart.updatedAt),
    // A completed cart changes no more: its last change is its completion.
    completed_at: cart.status === CartStatus.COMPLETED ? iso(cart.updatedAt) : null,
    ...cartTotalsJson(cart, money),
  };
}

export function orderJson(order: Order): JsonObject {
  const money = moneyIn(order.currency);
  const customer = customerJson(order.customerId, order.email);
  return {
    id: order.id,
    status: "pending",
    summary: { current_order_total: money(order.totals?.total), paid_total: 0, refunded_total: 0, pending_difference: money(order.totals?.total) },
    display_id: null,
    custom_display_id: null,
    region_id: orNull(order.regionId),
    currency_code: order.currency.toLowerCase(),
    email: orNull(order.email),
    customer_id: customer ? order.customerId : null,
    customer,
    sales_channel_id: orNull(order.salesChannelId),
    cart: { id: order.cartId },
    shipping_address: addressJson(order.shippingAddress, `${order.id}:shipping`),
    billing_address: addressJson(order.billingAddress, `${order.id}:billing`),
    items: order.items.map((item) => lineItemJson(item, order.cartId, false, money)),
    shipping_methods: order.shippingMethods.map((method) => shippingMethodJson(method, order.cartId, false, money)),
    payment_collections: [],
    credit_lines: [],
    metadata: Object.keys(order.metadata).length > 0 ? { ...order.metadata } : null,
    created_at: iso(order.createdAt),
    updated_at: iso(order.createdAt),
    ...cartTotalsJson(order, money),
  };
}

/** A shipping option as the cart sees it: its price in the cart's currency, `amount` included. */
export function shippingOptionJson(option: ShippingOption, amount: bigint, currency: string, taxInclusive: boolean): JsonObject {
  const money = moneyIn(currency);
  return {
    id: option.id,
    name: option.name,
    price_type: "flat",
    service_zone_id: null,
    shipping_profile_id: null,
    provider_id: "manual_manual",
    data: {},
    type: { id: option.id, label: option.name, description: null, code: option.id },
    provider: { id: "manual_manual", is_enabled: true },
    rules: [],
    prices: option.prices.map((price) => ({
      currency_code: price.currency.toLowerCase(),
      amount: money(price.amountCents),
      price_rules: price.freeAboveCents === undefined ? [] : [{ attribute: "item_total", operator: "gte", value: money(price.freeAboveCents), amount: 0 }],
    })),
    calculated_price: { calculated_amount: money(amount), is_calculated_price_tax_inclusive: taxInclusive, currency_code: currency.toLowerCase() },
    amount: money(amount),
    is_tax_inclusive: taxInclusive,
    insufficient_inventory: false,
    service_zone: { fulfillment_set_id: null, fulfillment_set: { type: "shipping", location: null } },
    created_at: iso(option.createdAt),
    updated_at: iso(option.updatedAt),
  };
}
