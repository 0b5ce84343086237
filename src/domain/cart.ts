import { currencyExponent } from "./currency.js";
import { DomainError } from "./errors.js";

export type CartStatus = "active" | "completed" | "deleted";

export interface LineItem {
  readonly id: string;
  readonly productId: string;
  readonly title: string;
  readonly quantity: number;
  /** Minor units of the cart currency. */
  readonly unitPrice: bigint;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface Cart {
  readonly id: string;
  readonly customerId: string;
  readonly status: CartStatus;
  readonly currency: string;
  readonly email: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Oldest first. */
  readonly lines: readonly LineItem[];
  readonly subtotal: bigint;
  readonly total: bigint;
  readonly itemQuantity: number;
  /** Bumped by every change; the etag is derived from it. */
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What the catalog says about one product, in the cart's currency. */
export interface ProductOffer {
  readonly title: string;
  readonly active: boolean;
  /** Undefined when the product has no price in the cart currency. */
  readonly unitPrice: bigint | undefined;
}

export interface CartLimits {
  readonly maxLines: number;
  readonly maxLineQuantity: number;
}

export const defaultCartLimits: CartLimits = { maxLines: 100, maxLineQuantity: 10_000 };

export function lineSubtotal(line: Pick<LineItem, "quantity" | "unitPrice">): bigint {
  return BigInt(line.quantity) * line.unitPrice;
}

/**
 * The one place cart totals are derived from lines. Prices are exact integers
 * in minor units, so there is nothing to round: subtotal = Σ quantity × unit
 * price, and total = subtotal until discounts, tax and shipping exist.
 */
function withTotals(cart: Omit<Cart, "subtotal" | "total" | "itemQuantity">): Cart {
  let subtotal = 0n;
  let itemQuantity = 0;
  for (const line of cart.lines) {
    subtotal += lineSubtotal(line);
    itemQuantity += line.quantity;
  }
  return { ...cart, subtotal, total: subtotal, itemQuantity };
}

/** A changed cart: new lines and fields, one version later. */
function revise(cart: Cart, change: Partial<Pick<Cart, "lines" | "status" | "currency" | "email" | "metadata">>, now: Date): Cart {
  return withTotals({ ...cart, ...change, version: cart.version + 1, updatedAt: now });
}

export interface NewCart {
  readonly id: string;
  readonly customerId: string;
  readonly currency: string;
  readonly email: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** A product to put in a cart, with what the catalog says about it (undefined: unknown product). */
export interface ItemToAdd {
  readonly productId: string;
  readonly quantity: number;
  readonly offer: ProductOffer | undefined;
  /** Id for the line, used only when the product is not in the cart yet. */
  readonly newLineId: string;
}

/** A new active cart holding `items`, merged by product as AddLineItem would. */
export function createCart(
  input: NewCart,
  items: readonly ItemToAdd[],
  now: Date,
  limits: CartLimits = defaultCartLimits,
): Cart {
  currencyExponent(input.currency);
  const empty = withTotals({ ...input, status: "active", lines: [], version: 1, createdAt: now, updatedAt: now });
  const filled = items.reduce((cart, item) => addLineItem(cart, item, now, limits), empty);
  return { ...filled, version: 1 };
}

function assertMutable(cart: Cart): void {
  if (cart.status !== "active") {
    throw new DomainError("failed_precondition", `cart ${cart.id} is ${cart.status} and can no longer be changed`);
  }
}

/** The unit price of a product, or why it cannot be sold in this cart. */
function sellablePrice(cart: Cart, productId: string, offer: ProductOffer | undefined): bigint {
  if (!offer) {
    throw new DomainError("not_found", `product ${productId} does not exist`);
  }
  if (!offer.active) {
    throw new DomainError("failed_precondition", `product ${productId} is not active`);
  }
  if (offer.unitPrice === undefined) {
    throw new DomainError("failed_precondition", `product ${productId} has no price in ${cart.currency}`);
  }
  return offer.unitPrice;
}

function checkQuantity(quantity: number, productId: string, limits: CartLimits): void {
  if (quantity > limits.maxLineQuantity) {
    throw new DomainError(
      "failed_precondition",
      `quantity ${quantity} of product ${productId} exceeds the maximum of ${limits.maxLineQuantity} per line`,
    );
  }
}

/**
 * Adds units of a product. A product already in the cart is merged into its
 * line (quantities add up) and repriced at the current catalog price.
 */
export function addLineItem(
  cart: Cart,
  item: ItemToAdd,
  now: Date,
  limits: CartLimits = defaultCartLimits,
): Cart {
  assertMutable(cart);
  const { productId, quantity, offer } = item;
  const unitPrice = sellablePrice(cart, productId, offer);
  const title = offer?.title ?? "";
  const existing = cart.lines.find((line) => line.productId === productId);
  if (existing) {
    const merged = existing.quantity + quantity;
    checkQuantity(merged, productId, limits);
    const lines = cart.lines.map((line) =>
      line === existing ? { ...line, quantity: merged, unitPrice, title, updatedAt: now } : line,
    );
    return revise(cart, { lines }, now);
  }
  checkQuantity(quantity, productId, limits);
  if (cart.lines.length >= limits.maxLines) {
    throw new DomainError("failed_precondition", `cart ${cart.id} already has the maximum of ${limits.maxLines} lines`);
  }
  const line: LineItem = {
    id: item.newLineId,
    productId,
    title,
    quantity,
    unitPrice,
    createdAt: now,
    updatedAt: now,
  };
  return revise(cart, { lines: [...cart.lines, line] }, now);
}

function findLine(cart: Cart, lineId: string): LineItem {
  const line = cart.lines.find((candidate) => candidate.id === lineId);
  if (!line) {
    throw new DomainError("not_found", `cart ${cart.id} has no line item ${lineId}`);
  }
  return line;
}

/** Sets a line's quantity; 0 removes the line. The unit price is kept. */
export function updateLineItem(
  cart: Cart,
  lineId: string,
  quantity: number,
  now: Date,
  limits: CartLimits = defaultCartLimits,
): Cart {
  assertMutable(cart);
  const target = findLine(cart, lineId);
  if (quantity === 0) {
    return revise(cart, { lines: cart.lines.filter((line) => line !== target) }, now);
  }
  checkQuantity(quantity, target.productId, limits);
  const lines = cart.lines.map((line) => (line === target ? { ...line, quantity, updatedAt: now } : line));
  return revise(cart, { lines }, now);
}

export function removeLineItem(cart: Cart, lineId: string, now: Date): Cart {
  assertMutable(cart);
  const target = findLine(cart, lineId);
  return revise(cart, { lines: cart.lines.filter((line) => line !== target) }, now);
}

export interface CartFieldChanges {
  readonly currency?: string;
  readonly email?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Changes cart-level fields. The currency can change only while the cart is empty, because line prices are in it. */
export function updateCartFields(cart: Cart, changes: CartFieldChanges, now: Date): Cart {
  assertMutable(cart);
  if (changes.currency !== undefined && changes.currency !== cart.currency) {
    currencyExponent(changes.currency);
    if (cart.lines.length > 0) {
      throw new DomainError(
        "failed_precondition",
        `cart ${cart.id} has line items; its currency can only change while it is empty`,
      );
    }
  }
  return revise(cart, changes, now);
}

/** Soft delete: the cart stays readable but refuses every change. */
export function deleteCart(cart: Cart, now: Date): Cart {
  assertMutable(cart);
  return revise(cart, { status: "deleted" }, now);
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
