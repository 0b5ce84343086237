import {
  type Address,
  assertMutable,
  type Cart,
  type ChangeContext,
  type HeldPromotion,
  type LineItem,
  type Offers,
  priceLine,
  revise,
  type ShippingMethod,
} from "./cart.js";
import { DomainError } from "./errors.js";
import { formatAmount } from "./money.js";
import { authorizeForCompletion, type PaymentCollection } from "./payment.js";
import { hasUsageLimit, promotionCodeRefusal, type PromotionRefusal, type PromotionUsage } from "./promotions.js";
import { regionShipsTo } from "./store.js";
import type { Totals } from "./totals.js";

/** Only CompleteCart makes orders; the services downstream (payment, fulfilment) move them on. */
export type OrderStatus = "pending";

/**
 * What a customer bought: the completed cart's lines, shipping methods,
 * promotions, addresses and totals as they were at completion. Nothing
 * changes it afterwards, whatever happens to the catalog or the store.
 */
export interface Order {
  readonly id: string;
  readonly cartId: string;
  readonly customerId: string;
  readonly status: OrderStatus;
  readonly regionId: string;
  readonly currency: string;
  readonly salesChannelId: string;
  readonly email: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly shippingAddress?: Address;
  readonly billingAddress?: Address;
  readonly lines: readonly LineItem[];
  readonly shippingMethods: readonly ShippingMethod[];
  /** The promotion codes the cart held. */
  readonly promotions: readonly HeldPromotion[];
  readonly totals: Totals;
  readonly itemQuantity: number;
  /** The caller's reference of the payment authorized for the order; "" when none was given. */
  readonly paymentReference: string;
  readonly createdAt: Date;
}

/** What completing a cart needs besides the cart. */
export interface CompletionInput {
  /** The catalog's offers of the cart's products in its currency, read now. */
  readonly offers: Offers;
  /**
   * By promotion id, the orders that used each promotion the cart holds that
   * has a usage limit, counted while that promotion is locked against other
   * completions.
   */
  readonly promotionUsage: ReadonlyMap<string, PromotionUsage>;
  readonly orderId: string;
  readonly paymentReference: string;
  /** Whether a cart with a total above zero must hold a payment session to authorize (see authorizeForCompletion). */
  readonly requirePaymentSession?: boolean;
}

export interface Completion {
  readonly order: Order;
  /** The cart, completed and pointing at the order. */
  readonly cart: Cart;
}

/**
 * The order to answer a CompleteCart of a cart that already became `order`.
 * A retry carries no payment reference or the order's own and gets the order
 * (exactly once); another payment reference stands for a payment this order
 * does not hold, so it is refused rather than silently dropped.
 */
export function completedOrder(order: Order, paymentReference: string): Order {
  if (paymentReference !== "" && paymentReference !== order.paymentReference) {
    const completedWith = order.paymentReference === "" ? "without a payment reference" : "with another payment reference";
    throw new DomainError(
      "failed_precondition",
      `cart ${order.cartId} was already completed as order ${order.id} ${completedWith}; only a retry with the order's payment reference, or none, answers the order`,
    );
  }
  return order;
}

/** The promotions that took something off an order: each counts one use of its usage limits. */
export function promotionsUsedBy(order: Pick<Order, "totals">): string[] {
  return order.totals.appliedPromotions.filter((applied) => applied.amount > 0n).map((applied) => applied.promotionId);
}

/** Why the cart's lines cannot be bought as the cart shows them: products no longer sold, prices that changed. */
function linePriceProblems(cart: Cart, offers: Offers): string[] {
  return cart.lines.flatMap((line) => {
    let unitPrice: bigint;
    try {
      ({ unitPrice } = priceLine(cart, line.productId, line.quantity, offers.get(line.productId)));
    } catch (error) {
      if (error instanceof DomainError) return [error.message];
      throw error;
    }
    if (unitPrice === line.unitPrice) return [];
    return [
      `product ${line.productId} now costs ${formatAmount(unitPrice, cart.currency)} per unit, not ${formatAmount(line.unitPrice, cart.currency)} as the cart shows (update the line to take the new price)`,
    ];
  });
}

/** The refusals of the held promotions that discount the completed cart and have no uses left. */
function promotionRefusals(completed: Cart, input: CompletionInput, context: ChangeContext): PromotionRefusal[] {
  const used = new Set(promotionsUsedBy(completed));
  return completed.promotions.flatMap((held) => {
    const promotion = context.pricing.promotions.find((candidate) => candidate.id === held.promotionId);
    if (!promotion || !used.has(held.promotionId)) return [];
    const usage = input.promotionUsage.get(held.promotionId);
    if (!usage && hasUsageLimit(promotion)) {
      throw new Error(`the usage of promotion ${held.promotionId} was not counted`);
    }
    const refusal = promotionCodeRefusal(held.code, promotion, {
      now: context.now,
      currency: completed.currency,
      itemSubtotal: completed.totals.cart.itemSubtotal,
      usage,
    });
    return refusal ? [refusal] : [];
  });
}

/**
 * Turns an active cart into an order, or refuses with every reason it cannot
 * be one: it needs a line, an email, and a shipping address the region ships
 * to and a shipping method when a line ships; each line must still be sold at
 * the unit price the cart shows; the total, priced again now, must still be
 * the one the cart shows (promotions, shipping prices and tax rates may have
 * changed since); and each held promotion that discounts it must have uses
 * left. The cart ends completed, one version later, with no expire time.
 */
export function completeCart(cart: Cart, input: CompletionInput, context: ChangeContext): Completion {
  assertMutable(cart, context.now);
  const completed = revise(cart, { status: "completed", orderId: input.orderId }, context);
  const problems: string[] = [];
  if (cart.lines.length === 0) problems.push("it has no line items");
  if (cart.email === "") problems.push("it has no email");
  if (cart.lines.some((line) => line.shippable)) {
    const address = cart.shippingAddress;
    if (!address) problems.push("it has no shipping address");
    else if (!regionShipsTo(context.pricing.region, address.country)) {
      problems.push(`region ${cart.regionId} no longer ships to ${address.country}`);
    }
    if (cart.shippingMethods.length === 0) problems.push("it has no shipping method");
    else if (completed.shippingMethods.length === 0) {
      problems.push(`its shipping method ${cart.shippingMethods.map((method) => method.name).join(", ")} can no longer ship it`);
    }
  }
  problems.push(...linePriceProblems(cart, input.offers));
  let paymentCollection: PaymentCollection | undefined;
  let paymentFacts: Readonly<Record<string, string>> = {};
  try {
    paymentCollection = authorizeForCompletion(
      completed.paymentCollection,
      { total: completed.totals.cart.total },
      context.pricing.region,
      input.requirePaymentSession ?? false,
      context.now,
    );
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    problems.push(error.message);
    paymentFacts = error.facts;
  }
  const [was, now] = [cart.totals.cart.total, completed.totals.cart.total];
  if (now !== was) {
    problems.push(
      `its total is now ${formatAmount(now, cart.currency)}, not ${formatAmount(was, cart.currency)} as the cart shows (a promotion, shipping price or tax rate changed; any change to the cart shows the new totals)`,
    );
  }
  const refusals = promotionRefusals(completed, input, context);
  problems.push(...refusals.map((refusal) => refusal.message));
  if (problems.length > 0) {
    throw new DomainError(
      "failed_precondition",
      `cart ${cart.id} cannot be completed: ${problems.join("; ")}`,
      { ...paymentFacts, ...(refusals.length > 0 && { promotion_refusal: refusals[0]!.reason }) },
    );
  }
  const paid = paymentCollection ? { ...completed, paymentCollection } : completed;
  const order: Order = {
    id: input.orderId,
    cartId: completed.id,
    customerId: completed.customerId,
    status: "pending",
    regionId: completed.regionId,
    currency: completed.currency,
    salesChannelId: completed.salesChannelId,
    email: completed.email,
    metadata: completed.metadata,
    shippingAddress: completed.shippingAddress,
    billingAddress: completed.billingAddress,
    lines: completed.lines,
    shippingMethods: completed.shippingMethods,
    promotions: completed.promotions,
    totals: completed.totals,
    itemQuantity: completed.itemQuantity,
    paymentReference: input.paymentReference || (paymentCollection?.sessions[0]?.id ?? ""),
    createdAt: context.now,
  };
  return { order, cart: paid };
}
