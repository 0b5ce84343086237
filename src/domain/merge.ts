import { assertMutable, type Cart, type ChangeContext, type LineItem, type Offers, priceLine, revise, sameMetadata } from "./cart.js";
import { DomainError } from "./errors.js";

export type MergeOutcome = "moved" | "merged" | "capped" | "dropped";

/** What happened to one line of the source cart. */
export interface MergedLine {
  readonly productId: string;
  /** Units the source line had. */
  readonly sourceQuantity: number;
  /** Units of the target's line holding the product afterwards; 0 when dropped and the target has no such line. */
  readonly quantity: number;
  readonly outcome: MergeOutcome;
  /** The target's line holding the product; undefined when dropped and the target has no such line. */
  readonly lineItemId?: string;
  /** Why the line was capped or dropped; "" otherwise. */
  readonly reason: string;
}

export interface MergeReport {
  readonly sourceCartId: string;
  readonly targetCartId: string;
  /** In the order of the source's lines. */
  readonly lines: readonly MergedLine[];
}

export interface MergeResult {
  readonly target: Cart;
  readonly source: Cart;
  readonly report: MergeReport;
}

/**
 * Moves the source cart's lines into the target, in their order: a product
 * the target holds adds its quantity to that line (capped at the per-line
 * limit), any other becomes a new line, and a product the target cannot sell
 * (inactive, not in its sales channel, no price in its currency and region)
 * or has no room for is dropped. Lines are priced from the catalog for the
 * target at their new quantity, as AddLineItem does. The source becomes
 * merged; it keeps its lines and totals as the record of what it held, and
 * its promotion codes stay with it.
 *
 * `offers`: the catalog's offers of the source's products in the target's
 * currency. `newLineIds`: one per source line, used when it becomes a new line.
 * `context`: the target's.
 */
export function mergeCarts(
  target: Cart,
  source: Cart,
  offers: Offers,
  newLineIds: readonly string[],
  context: ChangeContext,
): MergeResult {
  if (target.id === source.id) {
    throw new DomainError("invalid_argument", `cart ${target.id} cannot be merged into itself`);
  }
  assertMutable(source, context.now);
  assertMutable(target, context.now);
  const { now, limits } = context;
  const lines: LineItem[] = [...target.lines];
  const report = source.lines.map((sourceLine, index): MergedLine => {
    const { productId, quantity: sourceQuantity, details, metadata } = sourceLine;
    const at = lines.findIndex((line) => line.productId === productId && sameMetadata(line.metadata, metadata));
    const existing = lines[at];
    // The target's own line of the product, if any, stays as it was.
    const dropped = (reason: string): MergedLine => ({
      productId,
      sourceQuantity,
      quantity: existing?.quantity ?? 0,
      outcome: "dropped",
      ...(existing && { lineItemId: existing.id }),
      reason,
    });
    const held = existing?.quantity ?? 0;
    const wanted = held + sourceQuantity;
    // Never below what the target holds, should the limit have been lowered since that line was added.
    const quantity = Math.max(held, Math.min(wanted, limits.maxLineQuantity));
    let pricing;
    try {
      pricing = priceLine(target, productId, quantity, offers.get(productId));
    } catch (error) {
      if (error instanceof DomainError) return dropped(error.message);
      throw error;
    }
    if (!existing && lines.length >= limits.maxLines) {
      return dropped(`cart ${target.id} already has the maximum of ${limits.maxLines} lines`);
    }
    const line: LineItem = existing
      ? { ...existing, ...pricing, quantity, updatedAt: now }
      : { id: newLineIds[index]!, productId, quantity, ...pricing, details, metadata, createdAt: now, updatedAt: now };
    if (existing) lines[at] = line;
    else lines.push(line);
    const capped = quantity < wanted;
    return {
      productId,
      sourceQuantity,
      quantity,
      outcome: capped ? "capped" : existing ? "merged" : "moved",
      lineItemId: line.id,
      reason: capped
        ? `quantity ${wanted} of product ${productId} exceeds the maximum of ${limits.maxLineQuantity} per line; ${wanted - quantity} left out`
        : "",
    };
  });
  return {
    target: revise(target, { lines }, context),
    // Not priced again: nothing it holds changed, and it will never change again.
    source: { ...source, status: "merged", mergedIntoCartId: target.id, expireTime: undefined, version: source.version + 1, updatedAt: now },
    report: { sourceCartId: source.id, targetCartId: target.id, lines: report },
  };
}
