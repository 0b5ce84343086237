import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Cart,
  type CartLimits,
  type ChangeContext,
  type CodeLookup,
  createCart,
  deleteCart,
  isGuestCart,
  type ProductOffer,
  transferCart,
} from "../../src/domain/cart.js";
import { mergeCarts } from "../../src/domain/merge.js";
import type { TieredPrice } from "../../src/domain/pricing.js";
import { type Region, taxFreeRegion } from "../../src/domain/store.js";
import { domainRefusal, productOffer } from "../support/domain.js";

const t0 = new Date("2026-01-01T00:00:00Z");
const t1 = new Date("2026-01-01T00:05:00Z");

const limits: CartLimits = { maxLines: 4, maxLineQuantity: 10, lifetimeMs: 30 * 86_400_000, emptyLifetimeMs: 6 * 3_600_000 };
const usdRegion = taxFreeRegion("us", "USD", t0);
const eurRegion = taxFreeRegion("eu", "EUR", t0);
const at = (now: Date, region: Region = usdRegion): ChangeContext => ({
  now,
  limits,
  pricing: { region, promotions: [], shippingOptions: [] },
});

const price = (currency: string, amount: bigint, minQuantity = 1): TieredPrice => ({ currency, minQuantity, amount });
const usdOffer = (amount: bigint, extra: Partial<ProductOffer> = {}) => productOffer([price("USD", amount)], extra);

let ids = 0;
const newId = () => `id-${++ids}`;

/** A cart of `customerId` in `region`, holding `lines` (product → quantity, each priced by `offers`). */
function cartWith(
  id: string,
  customerId: string,
  lines: Record<string, number>,
  offers: ReadonlyMap<string, ProductOffer>,
  region: Region = usdRegion,
): Cart {
  const items = Object.entries(lines).map(([productId, quantity]) => ({
    productId,
    quantity,
    offer: offers.get(productId),
    newLineId: newId(),
  }));
  const codes = { codes: [], found: new Map<string, CodeLookup>() };
  return createCart({ id, customerId, salesChannelId: "web", email: "", metadata: {} }, items, codes, at(t0, region));
}


const catalog = new Map<string, ProductOffer>([
  ["mug", usdOffer(300n)],
  ["tee", productOffer([price("USD", 1000n), price("USD", 800n, 3)])],
  ["socks", usdOffer(500n)],
  ["cap", usdOffer(700n)],
  ["pin", usdOffer(100n)],
]);

describe("mergeCarts", () => {
  it("adds quantities of products the target holds, moves the others, and reports each source line", () => {
    const target = cartWith("target", "alice", { mug: 1, tee: 2 }, catalog);
    const source = cartWith("source", "guest:1", { tee: 1, socks: 2 }, catalog);
    const lineIds = ["new-tee", "new-socks"];
    const { target: merged, report } = mergeCarts(target, source, catalog, lineIds, at(t1));

    expect(merged.lines.map((line) => [line.productId, line.quantity, line.unitPrice])).toEqual([
      ["mug", 1, 300n],
      // 3 tees reach the 800 tier: the merged line is priced at its new quantity.
      ["tee", 3, 800n],
      ["socks", 2, 500n],
    ]);
    expect(merged.totals.cart.total).toBe(300n + 3n * 800n + 2n * 500n);
    expect(report).toEqual({
      sourceCartId: "source",
      targetCartId: "target",
      lines: [
        { productId: "tee", sourceQuantity: 1, quantity: 3, outcome: "merged", lineItemId: target.lines[1]!.id, reason: "" },
        { productId: "socks", sourceQuantity: 2, quantity: 2, outcome: "moved", lineItemId: "new-socks", reason: "" },
      ],
    });
    // The untouched line is the same object, so storage does not rewrite it.
    expect(merged.lines[0]).toBe(target.lines[0]);
  });

  it("caps a sum above the per-line limit and says so", () => {
    const target = cartWith("target", "alice", { mug: 8 }, catalog);
    const source = cartWith("source", "guest:1", { mug: 5 }, catalog);
    const { target: merged, report } = mergeCarts(target, source, catalog, [newId()], at(t1));
    expect(merged.lines.map((line) => line.quantity)).toEqual([10]);
    expect(report.lines).toEqual([
      {
        productId: "mug",
        sourceQuantity: 5,
        quantity: 10,
        outcome: "capped",
        lineItemId: target.lines[0]!.id,
        reason: "quantity 13 of product mug exceeds the maximum of 10 per line; 3 left out",
      },
    ]);
  });

  it("drops lines the target cannot sell or has no room for, with the reason", () => {
    const target = cartWith("target", "alice", { mug: 1, tee: 1, socks: 1 }, catalog);
    const source = cartWith("source", "guest:1", { cap: 1, pin: 1, tee: 1, socks: 1 }, catalog);
    const now = new Map(catalog);
    now.set("cap", usdOffer(700n, { salesChannelIds: ["app"] }));
    now.set("tee", { ...catalog.get("tee")!, active: false });
    const { target: merged, report } = mergeCarts(target, source, now, ["n1", "n2", "n3", "n4"], at(t1));

    expect(report.lines.map(({ productId, outcome, quantity, reason }) => ({ productId, outcome, quantity, reason }))).toEqual([
      { productId: "cap", outcome: "dropped", quantity: 0, reason: "product cap is not sold in sales channel web" },
      { productId: "pin", outcome: "moved", quantity: 1, reason: "" },
      // The target keeps its own line of the inactive product, and the report says which and how many.
      { productId: "tee", outcome: "dropped", quantity: 1, reason: "product tee is not active" },
      { productId: "socks", outcome: "merged", quantity: 2, reason: "" },
    ]);
    expect(report.lines[0]!.lineItemId).toBeUndefined();
    expect(report.lines[2]!.lineItemId).toBe(target.lines[1]!.id);
    // The inactive product's line in the target is left as it was.
    expect(merged.lines.map((line) => [line.productId, line.quantity])).toEqual([
      ["mug", 1],
      ["tee", 1],
      ["socks", 2],
      ["pin", 1],
    ]);

    const full = mergeCarts(merged, cartWith("more", "guest:2", { cap: 1 }, catalog), catalog, ["n5"], at(t1));
    expect(full.report.lines[0]).toMatchObject({ outcome: "dropped", reason: "cart target already has the maximum of 4 lines" });
  });

  it("prices moved lines in the target's currency and drops products without a price there", () => {
    const euroCatalog = new Map([
      ["mug", productOffer([price("EUR", 280n)])],
      ["socks", productOffer([])],
    ]);
    const target = cartWith("target", "alice", {}, euroCatalog, eurRegion);
    const source = cartWith("source", "guest:1", { mug: 2, socks: 1 }, catalog);
    const { target: merged, report } = mergeCarts(target, source, euroCatalog, ["n1", "n2"], at(t1, eurRegion));
    expect(merged.lines.map((line) => [line.productId, line.quantity, line.unitPrice])).toEqual([["mug", 2, 280n]]);
    expect(merged.totals.cart.total).toBe(560n);
    expect(report.lines[1]).toMatchObject({ outcome: "dropped", reason: "product socks has no price in EUR in region eu" });
  });

  it("marks the source merged into the target and moves both on one version", () => {
    const target = cartWith("target", "alice", { mug: 1 }, catalog);
    const source = cartWith("source", "guest:1", { socks: 2 }, catalog);
    const result = mergeCarts(target, source, catalog, ["n1"], at(t1));

    expect(result.source).toEqual({
      ...source,
      status: "merged",
      mergedIntoCartId: "target",
      expireTime: undefined,
      version: source.version + 1,
      updatedAt: t1,
    });
    expect(result.target.version).toBe(target.version + 1);
    expect(result.target.updatedAt).toEqual(t1);
    expect(result.target.expireTime).toEqual(new Date(t1.getTime() + limits.lifetimeMs));
  });

  it("refuses to merge a cart into itself, and carts that are no longer active", () => {
    const target = cartWith("target", "alice", { mug: 1 }, catalog);
    const source = cartWith("source", "guest:1", { socks: 2 }, catalog);
    expect(domainRefusal(() => mergeCarts(target, target, catalog, ["n1"], at(t1)))).toMatchObject({
      reason: "invalid_argument",
      message: "cart target cannot be merged into itself",
    });
    const merged = mergeCarts(target, source, catalog, ["n1"], at(t1)).source;
    expect(domainRefusal(() => mergeCarts(target, merged, catalog, ["n1"], at(t1)))).toMatchObject({
      reason: "failed_precondition",
      message: "cart source is merged and can no longer be changed",
    });
    const deleted = deleteCart(target, at(t1));
    expect(domainRefusal(() => mergeCarts(deleted, source, catalog, ["n1"], at(t1))).reason).toBe("failed_precondition");
    const afterExpiry = new Date(t0.getTime() + limits.lifetimeMs + 1);
    expect(domainRefusal(() => mergeCarts(target, source, catalog, ["n1"], at(afterExpiry))).message).toMatch(/expired at/);
  });

  it("loses nothing: every product ends in the target at the capped sum unless dropped, and totals add up", () => {
    const products = [...catalog.keys()];
    const lines = fc.dictionary(fc.constantFrom(...products), fc.integer({ min: 1, max: 10 }), { maxKeys: 4 });
    fc.assert(
      fc.property(lines, lines, (targetLines, sourceLines) => {
        const target = cartWith("target", "alice", targetLines, catalog);
        const source = cartWith("source", "guest:1", sourceLines, catalog);
        const { target: merged, report } = mergeCarts(target, source, catalog, source.lines.map(() => newId()), at(t1));
        const quantityOf = (cart: Cart, productId: string) => cart.lines.find((line) => line.productId === productId)?.quantity ?? 0;
        for (const line of report.lines) {
          const held = quantityOf(target, line.productId);
          const expected = line.outcome === "dropped" ? held : Math.min(held + line.sourceQuantity, limits.maxLineQuantity);
          // Whatever the outcome, the report tells what the target holds of the product afterwards.
          expect(line.quantity).toBe(expected);
          expect(quantityOf(merged, line.productId)).toBe(expected);
        }
        for (const line of target.lines) expect(quantityOf(merged, line.productId)).toBeGreaterThanOrEqual(line.quantity);
        expect(merged.itemQuantity).toBe(merged.lines.reduce((sum, line) => sum + line.quantity, 0));
        expect(merged.totals.cart.total).toBe(merged.lines.reduce((sum, line) => sum + BigInt(line.quantity) * line.unitPrice, 0n));
      }),
    );
  });
});

describe("transferCart", () => {
  const guest = cartWith("guest-cart", "guest:abc", { mug: 1 }, catalog);

  it("gives the cart to the customer, one version later", () => {
    const taken = transferCart(guest, "alice", at(t1));
    expect(taken).toMatchObject({ customerId: "alice", version: guest.version + 1, updatedAt: t1, lines: guest.lines });
  });

  it("changes nothing when the customer already owns it", () => {
    expect(transferCart(guest, "guest:abc", at(t1))).toBe(guest);
  });

  it("refuses carts that are no longer active", () => {
    const deleted = deleteCart(guest, at(t1));
    expect(domainRefusal(() => transferCart(deleted, "alice", at(t1)))).toMatchObject({
      reason: "failed_precondition",
      message: "cart guest-cart is deleted and can no longer be changed",
    });
  });

  it("recognizes guest carts by the guest: prefix", () => {
    expect(isGuestCart(guest)).toBe(true);
    expect(isGuestCart({ customerId: "alice" })).toBe(false);
    expect(isGuestCart({ customerId: "guests-of-honour" })).toBe(false);
  });
});
