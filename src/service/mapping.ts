import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type {
  Address as DomainAddress,
  Cart as DomainCart,
  CartStatus as DomainCartStatus,
  CartSummary,
  LineItem as DomainLineItem,
} from "../domain/cart.js";
import { etagOf } from "../domain/cart.js";
import type { MergeOutcome as DomainMergeOutcome, MergeReport as DomainMergeReport } from "../domain/merge.js";
import type { Order as DomainOrder, OrderStatus as DomainOrderStatus } from "../domain/order.js";
import type {
  PaymentCollection as DomainPaymentCollection,
  PaymentSessionStatus as DomainPaymentSessionStatus,
} from "../domain/payment.js";
import type { Product as DomainProduct } from "../domain/product.js";
import type { PublishableKey as DomainPublishableKey } from "../domain/publishable-key.js";
import type { Promotion as DomainPromotion, PromotionTarget as DomainPromotionTarget } from "../domain/promotions.js";
import type {
  Region as DomainRegion,
  SalesChannel as DomainSalesChannel,
  StoredPromotion,
  StoredShippingOption,
} from "../domain/store.js";
import { type PlaceTaxRates, STANDARD_TAX_CLASS, type TaxClassRate as DomainTaxClassRate } from "../domain/tax.js";
import type { AmountBreakdown } from "../domain/totals.js";
import {
  type Address,
  AddressSchema,
  type Cart,
  CartSchema,
  CartStatus,
  type LineItem,
  LineItemSchema,
  type ShippingMethod,
  ShippingMethodSchema,
} from "../../gen/commerce/cart/v1/cart_pb.js";
import { MergeOutcome, type MergeReport, MergeReportSchema } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { type Product, ProductSchema } from "../../gen/commerce/cart/v1/catalog_pb.js";
import { type Order, OrderSchema, OrderStatus } from "../../gen/commerce/cart/v1/order_pb.js";
import { encodeOnce } from "./encoded-messages.js";
import {
  type PaymentCollection,
  PaymentCollectionSchema,
  PaymentSessionStatus,
} from "../../gen/commerce/cart/v1/payment_pb.js";
import { type PublishableKey, PublishableKeySchema } from "../../gen/commerce/cart/v1/publishable_key_pb.js";
import { type Promotion, PromotionSchema, PromotionTarget } from "../../gen/commerce/cart/v1/promotion_pb.js";
import { type Region, RegionSchema, type TaxClassRate } from "../../gen/commerce/cart/v1/region_pb.js";
import { type SalesChannel, SalesChannelSchema } from "../../gen/commerce/cart/v1/sales_channel_pb.js";
import { type ShippingOption, ShippingOptionSchema } from "../../gen/commerce/cart/v1/shipping_option_pb.js";

/** Domain objects to API messages and back: the one place the two vocabularies meet. */

const statusToProto: Record<DomainCartStatus, CartStatus> = {
  active: CartStatus.ACTIVE,
  completed: CartStatus.COMPLETED,
  deleted: CartStatus.DELETED,
  expired: CartStatus.EXPIRED,
  merged: CartStatus.MERGED,
};

export function cartStatusFromProto(status: CartStatus): DomainCartStatus | undefined {
  return (Object.keys(statusToProto) as DomainCartStatus[]).find((key) => statusToProto[key] === status);
}

const timestampOrUndefined = (date: Date | undefined) => (date === undefined ? undefined : timestampFromDate(date));
const dateOrUndefined = (timestamp: Timestamp | undefined) => (timestamp === undefined ? undefined : timestampDate(timestamp));

export function toCartMessage(cart: DomainCart | CartSummary): Cart {
  return create(CartSchema, {
    id: cart.id,
    customerId: cart.customerId,
    status: statusToProto[cart.status],
    currency: cart.currency,
    email: cart.email,
    metadata: cart.metadata,
    etag: etagOf(cart),
    itemQuantity: cart.itemQuantity,
    createdAt: timestampFromDate(cart.createdAt),
    updatedAt: timestampFromDate(cart.updatedAt),
    regionId: cart.regionId,
    salesChannelId: cart.salesChannelId,
    shippingAddress: cart.shippingAddress && create(AddressSchema, cart.shippingAddress),
    billingAddress: cart.billingAddress && create(AddressSchema, cart.billingAddress),
    promoCodes: cart.promotions.map((held) => held.code),
    expireTime: timestampOrUndefined(cart.expireTime),
    orderId: cart.orderId ?? "",
    mergedIntoCartId: cart.mergedIntoCartId ?? "",
    paymentCollection: cart.paymentCollection && toPaymentCollectionMessage(cart.id, cart.paymentCollection),
    ...("totals" in cart && amountFields(cart)),
  });
}

/** One message per domain cart (see sharedCartMessage). */
const sharedCartMessages = new WeakMap<DomainCart, Cart>();

/**
 * The message of a cart a change left (written or not), made and encoded
 * once: the change's event and its answer carry the very same message, so it
 * is encoded once for both (see encoded-messages.ts). Domain carts never
 * change, so neither does the message; nothing may apply a read mask to it.
 */
export function sharedCartMessage(cart: DomainCart): Cart {
  let message = sharedCartMessages.get(cart);
  if (!message) {
    message = toCartMessage(cart);
    encodeOnce(CartSchema, message);
    sharedCartMessages.set(cart, message);
  }
  return message;
}

/** The Cart fields made of a cart's lines and amounts, which a CartSummary lacks. */
const amountFieldKeys = ["items", "subtotalCents", "totalCents", "shippingMethods", "totals", "promotionNotices"] as const;

/** The same fields by proto name: a read that returns none of them can do without the lines and amounts. */
export const cartAmountFields = CartSchema.fields
  .filter((field) => (amountFieldKeys as readonly string[]).includes(field.localName))
  .map((field) => field.name);

function amountFields(cart: DomainCart): Pick<MessageInitShape<typeof CartSchema>, (typeof amountFieldKeys)[number]> {
  const { totals } = cart;
  return {
    ...pricedContents(cart.id, cart),
    subtotalCents: totals.cart.subtotal,
    totalCents: totals.cart.total,
    totals: totals.cart,
    promotionNotices: totals.skippedPromotions.flatMap((skipped) =>
      skipped.code === undefined ? [] : [{ code: skipped.code, reason: skipped.refusal.reason, message: skipped.refusal.message }],
    ),
  };
}

/** The lines and shipping methods of a cart or order, each with its totals, tax lines and adjustments. */
function pricedContents(
  cartId: string,
  { lines, shippingMethods, totals }: Pick<DomainCart, "lines" | "shippingMethods" | "totals">,
): { items: LineItem[]; shippingMethods: ShippingMethod[] } {
  const lineTotals = new Map(totals.lines.map((line) => [line.lineId, line]));
  const methodTotals = new Map(totals.shippingMethods.map((method) => [method.shippingMethodId, method]));
  return {
    items: lines.map((line) => toLineItemMessage(cartId, line, lineTotals.get(line.id)!)),
    shippingMethods: shippingMethods.map((method): ShippingMethod => {
      const breakdown = methodTotals.get(method.id)!;
      return create(ShippingMethodSchema, {
        id: method.id,
        shippingOptionId: method.shippingOptionId,
        name: method.name,
        amountCents: breakdown.subtotal,
        ...breakdownFields(breakdown),
      });
    }),
  };
}

const sessionStatusToProto: Record<DomainPaymentSessionStatus, PaymentSessionStatus> = {
  pending: PaymentSessionStatus.PENDING,
  authorized: PaymentSessionStatus.AUTHORIZED,
};

export function toPaymentCollectionMessage(cartId: string, collection: DomainPaymentCollection): PaymentCollection {
  return create(PaymentCollectionSchema, {
    id: collection.id,
    cartId,
    currency: collection.currency,
    amountCents: collection.amount,
    sessions: collection.sessions.map((session) => ({
      id: session.id,
      providerId: session.providerId,
      currency: session.currency,
      amountCents: session.amount,
      status: sessionStatusToProto[session.status],
      data: session.data,
      createdAt: timestampFromDate(session.createdAt),
      updatedAt: timestampFromDate(session.updatedAt),
    })),
    createdAt: timestampFromDate(collection.createdAt),
    updatedAt: timestampFromDate(collection.updatedAt),
  });
}

export function toPublishableKeyMessage(key: DomainPublishableKey): PublishableKey {
  return create(PublishableKeySchema, {
    id: key.id,
    token: key.token,
    title: key.title,
    salesChannelIds: [...key.salesChannelIds],
    createdAt: timestampFromDate(key.createdAt),
    revokedAt: timestampOrUndefined(key.revokedAt),
  });
}

const orderStatusToProto: Record<DomainOrderStatus, OrderStatus> = {
  pending: OrderStatus.PENDING,
};

export function toOrderMessage(order: DomainOrder): Order {
  return create(OrderSchema, {
    id: order.id,
    cartId: order.cartId,
    customerId: order.customerId,
    status: orderStatusToProto[order.status],
    regionId: order.regionId,
    currency: order.currency,
    salesChannelId: order.salesChannelId,
    email: order.email,
    metadata: order.metadata,
    shippingAddress: order.shippingAddress && create(AddressSchema, order.shippingAddress),
    billingAddress: order.billingAddress && create(AddressSchema, order.billingAddress),
    ...pricedContents(order.cartId, order),
    promoCodes: order.promotions.map((held) => held.code),
    totals: order.totals.cart,
    itemQuantity: order.itemQuantity,
    paymentReference: order.paymentReference,
    createdAt: timestampFromDate(order.createdAt),
  });
}

const mergeOutcomeToProto: Record<DomainMergeOutcome, MergeOutcome> = {
  moved: MergeOutcome.MOVED,
  merged: MergeOutcome.MERGED,
  capped: MergeOutcome.CAPPED,
  dropped: MergeOutcome.DROPPED,
};

export function toMergeReportMessage(report: DomainMergeReport): MergeReport {
  return create(MergeReportSchema, {
    sourceCartId: report.sourceCartId,
    targetCartId: report.targetCartId,
    lines: report.lines.map((line) => ({
      productId: line.productId,
      sourceQuantity: line.sourceQuantity,
      quantity: line.quantity,
      outcome: mergeOutcomeToProto[line.outcome],
      lineItemId: line.lineItemId ?? "",
      reason: line.reason,
    })),
  });
}

/** The totals, tax lines and adjustments of a line or shipping method. */
function breakdownFields(breakdown: AmountBreakdown): Pick<MessageInitShape<typeof LineItemSchema>, "totals" | "taxLines" | "adjustments"> {
  const { subtotal, discountTotal, taxTotal, total, originalTotal } = breakdown;
  return {
    totals: { subtotal, discountTotal, taxTotal, total, originalTotal },
    taxLines: breakdown.taxLines.map((tax) => ({ code: tax.code, ratePpm: tax.ratePpm, taxClass: tax.taxClass, amountCents: tax.amount })),
    adjustments: breakdown.adjustments.map((adjustment) => ({
      promotionId: adjustment.promotionId,
      code: adjustment.code ?? "",
      amountCents: adjustment.amount,
    })),
  };
}

function toLineItemMessage(cartId: string, line: DomainLineItem, breakdown: AmountBreakdown): LineItem {
  return create(LineItemSchema, {
    id: line.id,
    cartId,
    productId: line.productId,
    title: line.title,
    quantity: line.quantity,
    unitPriceCents: line.unitPrice,
    subtotalCents: breakdown.subtotal,
    compareAtUnitPriceCents: line.compareAtUnitPrice,
    taxClass: line.taxClass,
    giftCard: line.giftCard,
    createdAt: timestampFromDate(line.createdAt),
    updatedAt: timestampFromDate(line.updatedAt),
    subtitle: line.details.subtitle,
    thumbnailUri: line.details.thumbnailUri,
    productHandle: line.details.handle,
    sku: line.details.sku,
    variantTitle: line.details.variantTitle,
    metadata: line.metadata,
    ...breakdownFields(breakdown),
  });
}

export function addressFromProto(address: Address): DomainAddress {
  const { name, company, line1, line2, city, postalCode, province, country, phone } = address;
  return { name, company, line1, line2, city, postalCode, province, country, phone };
}

export function toProductMessage(product: DomainProduct): Product {
  return create(ProductSchema, {
    id: product.id,
    title: product.title,
    active: product.active,
    discountable: product.discountable,
    shippable: product.shippable,
    taxClass: product.taxClass,
    giftCard: product.giftCard,
    salesChannelIds: [...product.salesChannelIds],
    ...product.details,
    prices: product.prices.map((price) => ({
      currency: price.currency,
      amountCents: price.amount,
      regionId: price.regionId ?? "",
      minQuantity: price.minQuantity,
      compareAtAmountCents: price.compareAtAmount,
    })),
    createdAt: timestampFromDate(product.createdAt),
    updatedAt: timestampFromDate(product.updatedAt),
  });
}

export function productFromProto(product: Product): Omit<DomainProduct, "createdAt" | "updatedAt"> {
  return {
    id: product.id,
    title: product.title,
    active: product.active,
    discountable: product.discountable ?? !product.giftCard,
    shippable: product.shippable ?? true,
    taxClass: product.taxClass || STANDARD_TAX_CLASS,
    giftCard: product.giftCard,
    salesChannelIds: product.salesChannelIds,
    details: {
      subtitle: product.subtitle,
      thumbnailUri: product.thumbnailUri,
      handle: product.handle,
      sku: product.sku,
      variantTitle: product.variantTitle,
    },
    prices: product.prices.map((price) => ({
      currency: price.currency,
      amount: price.amountCents,
      regionId: price.regionId || undefined,
      minQuantity: Math.max(price.minQuantity, 1),
      compareAtAmount: price.compareAtAmountCents,
    })),
  };
}

export function toRegionMessage(region: DomainRegion): Region {
  return create(RegionSchema, {
    id: region.id,
    name: region.name,
    currency: region.currency,
    countries: [...region.countries],
    pricesIncludeTax: region.tax.pricesIncludeTax,
    defaultTaxRatePpm: region.tax.defaults.ratePpm,
    defaultTaxClassRates: classRatesToProto(region.tax.defaults),
    taxRates: region.tax.countries.map((rate) => ({
      country: rate.country,
      ratePpm: rate.ratePpm,
      classRates: classRatesToProto(rate),
      provinces: (rate.provinces ?? []).map((province) => ({
        province: province.province,
        ratePpm: province.ratePpm,
        classRates: classRatesToProto(province),
        combined: province.combined ?? false,
      })),
    })),
    paymentProviderIds: [...region.paymentProviderIds],
    createdAt: timestampFromDate(region.createdAt),
    updatedAt: timestampFromDate(region.updatedAt),
  });
}

export function regionFromProto(region: Region): Omit<DomainRegion, "createdAt" | "updatedAt"> {
  return {
    id: region.id,
    name: region.name,
    currency: region.currency,
    countries: region.countries,
    tax: {
      pricesIncludeTax: region.pricesIncludeTax,
      defaults: { ratePpm: region.defaultTaxRatePpm, classRates: classRatesFromProto(region.defaultTaxClassRates) },
      countries: region.taxRates.map((rate) => ({
        country: rate.country,
        ratePpm: rate.ratePpm,
        classRates: classRatesFromProto(rate.classRates),
        provinces: rate.provinces.map((province) => ({
          province: province.province,
          ratePpm: province.ratePpm,
          classRates: classRatesFromProto(province.classRates),
          combined: province.combined,
        })),
      })),
    },
    paymentProviderIds: region.paymentProviderIds,
  };
}

function classRatesToProto(place: PlaceTaxRates) {
  return (place.classRates ?? []).map((rate) => ({ taxClass: rate.taxClass, ratePpm: rate.ratePpm }));
}

function classRatesFromProto(rates: readonly TaxClassRate[]): DomainTaxClassRate[] {
  return rates.map((rate) => ({ taxClass: rate.taxClass, ratePpm: rate.ratePpm }));
}

export function toSalesChannelMessage(channel: DomainSalesChannel): SalesChannel {
  return create(SalesChannelSchema, {
    id: channel.id,
    name: channel.name,
    description: channel.description,
    createdAt: timestampFromDate(channel.createdAt),
    updatedAt: timestampFromDate(channel.updatedAt),
  });
}

export function toShippingOptionMessage(option: StoredShippingOption): ShippingOption {
  return create(ShippingOptionSchema, {
    id: option.id,
    name: option.name,
    regionId: option.regionId,
    prices: option.prices.map((price) => ({ currency: price.currency, amountCents: price.amount, freeAboveCents: price.freeAbove })),
    giftCardsCountTowardsFreeShipping: option.giftCardsCountTowardsFreeShipping ?? false,
    createdAt: timestampFromDate(option.createdAt),
    updatedAt: timestampFromDate(option.updatedAt),
  });
}

export function shippingOptionFromProto(option: ShippingOption): Omit<StoredShippingOption, "createdAt" | "updatedAt"> {
  return {
    id: option.id,
    name: option.name,
    regionId: option.regionId,
    prices: option.prices.map((price) => ({ currency: price.currency, amount: price.amountCents, freeAbove: price.freeAboveCents })),
    giftCardsCountTowardsFreeShipping: option.giftCardsCountTowardsFreeShipping,
  };
}

const targetToProto: Record<DomainPromotionTarget["kind"], PromotionTarget> = {
  order: PromotionTarget.ORDER,
  products: PromotionTarget.PRODUCTS,
  shipping: PromotionTarget.SHIPPING,
};

export function toPromotionMessage(promotion: StoredPromotion): Promotion {
  const { value, target } = promotion;
  return create(PromotionSchema, {
    id: promotion.id,
    code: promotion.code ?? "",
    value:
      value.kind === "percentage"
        ? { case: "percentageBp", value: value.basisPoints }
        : { case: "fixed", value: { amounts: value.amounts.map((amount) => ({ currency: amount.currency, amountCents: amount.amount })) } },
    target: targetToProto[target.kind],
    productIds: target.kind === "products" ? [...target.productIds] : [],
    minimumSubtotal: (promotion.minimumSubtotal ?? []).map((amount) => ({ currency: amount.currency, amountCents: amount.amount })),
    startsAt: timestampOrUndefined(promotion.startsAt),
    endsAt: timestampOrUndefined(promotion.endsAt),
    usageLimit: promotion.usageLimit,
    usageLimitPerCustomer: promotion.usageLimitPerCustomer,
    createdAt: timestampFromDate(promotion.createdAt),
    updatedAt: timestampFromDate(promotion.updatedAt),
  });
}

/** The promotion a validated message describes (protovalidate guarantees a value and a known target). */
export function promotionFromProto(promotion: Promotion): DomainPromotion {
  const { value } = promotion;
  const targetKind = (Object.keys(targetToProto) as DomainPromotionTarget["kind"][]).find(
    (kind) => targetToProto[kind] === promotion.target,
  )!;
  return {
    id: promotion.id,
    code: promotion.code || undefined,
    value:
      value.case === "percentageBp"
        ? { kind: "percentage", basisPoints: value.value }
        : {
            kind: "fixed",
            amounts: (value.value?.amounts ?? []).map((amount) => ({ currency: amount.currency, amount: amount.amountCents })),
          },
    target: targetKind === "products" ? { kind: "products", productIds: promotion.productIds } : { kind: targetKind },
    minimumSubtotal: promotion.minimumSubtotal.map((amount) => ({ currency: amount.currency, amount: amount.amountCents })),
    startsAt: dateOrUndefined(promotion.startsAt),
    endsAt: dateOrUndefined(promotion.endsAt),
    usageLimit: promotion.usageLimit,
    usageLimitPerCustomer: promotion.usageLimitPerCustomer,
  };
}
