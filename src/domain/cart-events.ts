import type { Address, Cart } from "./cart.js";

/** What a committed change did to a cart, as its event reports it. */
export type CartEventKind = "created" | "changed" | "order_placed" | "transferred" | "merged" | "expired" | "deleted";

/** Parts of a cart a "changed" event names. */
export type CartAspect = "lines" | "promotions" | "shipping" | "addresses" | "details";

export interface CartChange {
  readonly kind: CartEventKind;
  /** For "changed": what changed, in a fixed order. */
  readonly aspects: readonly CartAspect[];
}

const sameAddress = (a: Address | undefined, b: Address | undefined) => JSON.stringify(a) === JSON.stringify(b);

const sameItems = <T>(a: readonly T[], b: readonly T[], key: (item: T) => unknown = (item) => item) =>
  a.length === b.length && a.every((item, index) => key(item) === key(b[index]!));

/**
 * Classifies the change from `before` (undefined: the cart is new) to `after`.
 * A status change names the event; otherwise a new customer is a transfer and
 * anything else a change of the aspects that differ. The domain returns
 * unchanged lines as the very objects it was given, so a line that is not the
 * same object changed.
 */
export function describeCartChange(before: Cart | undefined, after: Cart): CartChange {
  const kind = eventKind(before, after);
  if (kind !== "changed" || !before) return { kind, aspects: [] };
  const aspects: CartAspect[] = [];
  if (!sameItems(before.lines, after.lines)) aspects.push("lines");
  if (!sameItems(before.promotions, after.promotions, (held) => held.code)) aspects.push("promotions");
  if (!sameItems(before.shippingMethods, after.shippingMethods, (method) => method.id)) aspects.push("shipping");
  if (!sameAddress(before.shippingAddress, after.shippingAddress) || !sameAddress(before.billingAddress, after.billingAddress)) {
    aspects.push("addresses");
  }
  if (
    before.regionId !== after.regionId ||
    before.currency !== after.currency ||
    before.salesChannelId !== after.salesChannelId ||
    before.email !== after.email ||
    JSON.stringify(before.metadata) !== JSON.stringify(after.metadata)
  ) {
    aspects.push("details");
  }
  return { kind, aspects };
}

function eventKind(before: Cart | undefined, after: Cart): CartEventKind {
  if (!before) return "created";
  if (after.status !== before.status) {
    switch (after.status) {
      case "completed":
        return "order_placed";
      case "merged":
        return "merged";
      case "expired":
        return "expired";
      case "deleted":
        return "deleted";
      case "active":
        break;
    }
  }
  return after.customerId !== before.customerId ? "transferred" : "changed";
}
