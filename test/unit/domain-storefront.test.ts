import { describe, expect, it } from "vitest";
import {
  addLineItem,
  type Cart,
  type CartLimits,
  type ChangeContext,
  type CodeLookup,
  createCart,
  createPaymentCollection,
  deleteCart,
  type ItemToAdd,
  removeLineItem,
  startPaymentSession,
  updateCart,
  updateLineItem,
} from "../../src/domain/cart.js";
import { mergeCarts } from "../../src/domain/merge.js";
import { completeCart, type CompletionInput } from "../../src/domain/order.js";
import { authorizeForCompletion, checkPaymentProviderIds, followCartTotal, newPaymentCollection, regionPaymentProviderIds } from "../../src/domain/payment.js";
import type { ProductDetails } from "../../src/domain/product.js";
import { resolution, revokeKey, salesChannelForNewCart, type PublishableKey } from "../../src/domain/publishable-key.js";
import { type Region, taxFreeRegion } from "../../src/domain/store.js";
import { domainRefusal, productOffer } from "../support/domain.js";

const t0 = new Date("2026-01-01T00:00:00Z");
const t1 = new Date("2026-01-01T00:01:00Z");
const t2 = new Date("2026-01-01T00:02:00Z");

const limits: CartLimits = { maxLines: 10, maxLineQuantity: 100, lifetimeMs: 30 * 86_400_000, emptyLifetimeMs: 6 * 3_600_000 };
const region: Region = taxFreeRegion("us", "USD", t0);
const at = (now: Date, inRegion: Region = region): ChangeContext => ({
  now,
  limits,
  pricing: { region: inRegion, promotions: [], shippingOptions: [] },
});

const mugDetails: ProductDetails = { subtitle: "Stoneware", thumbnailUri: "https://img.example/mug.png", handle: "mug", sku: "MUG-1", variantTitle: "Blue" };
const mug = productOffer([{ currency: "USD", minQuantity: 1, amount: 1000n }], { title: "Mug", details: mugDetails });

let lineCounter = 0;
const item = (quantity: number, metadata?: Record<string, string>, offer = mug): ItemToAdd => ({
  productId: "mug",
  quantity,
  ...(metadata && { metadata }),
  offer,
  newLineId: `line-${++lineCounter}`,
});

const noCodes = { codes: [], found: new Map<string, CodeLookup>() };
const newCart = (items: ItemToAdd[] = [], context = at(t0)): Cart =>
  createCart({ id: "cart-1", customerId: "guest:1", salesChannelId: "web", email: "ada@example.com", metadata: {} }, items, noCodes, context);

describe("publishable keys", () => {
  const key = (salesChannelIds: string[]) => ({ salesChannelIds });

  it("a key with one channel gives it to carts that name none, and refuses others", () => {
    expect(salesChannelForNewCart(key(["web"]), "")).toEqual({ salesChannelId: "web" });
    expect(salesChannelForNewCart(key(["web"]), "web")).toEqual({ salesChannelId: "web" });
    expect(salesChannelForNewCart(key(["web"]), "app")).toMatchObject({ refusal: "not_in_key" });
  });

  it("a key with several channels needs one of them named", () => {
    expect(salesChannelForNewCart(key(["web", "app"]), "")).toMatchObject({ refusal: "ambiguous" });
    expect(salesChannelForNewCart(key(["web", "app"]), "app")).toEqual({ salesChannelId: "app" });
    expect(salesChannelForNewCart(key(["web", "app"]), "pos")).toMatchObject({ refusal: "not_in_key" });
  });

  it("a key without channels allows any channel, and leaves the default when none is named", () => {
    expect(salesChannelForNewCart(key([]), "")).toEqual({ salesChannelId: "" });
    expect(salesChannelForNewCart(key([]), "pos")).toEqual({ salesChannelId: "pos" });
  });

  it("resolves a missing key as unknown, a revoked one as revoked, and revoking twice keeps the first time", () => {
    const issued: PublishableKey = { id: "k", token: "pk_x", title: "Web", salesChannelIds: [], createdAt: t0 };
    expect(resolution(undefined, t1)).toEqual({ status: "unknown" });
    expect(resolution(issued, t1)).toEqual({ status: "valid", key: issued });
    const revoked = revokeKey(issued, t1);
    expect(revoked.revokedAt).toEqual(t1);
    expect(revokeKey(revoked, t2)).toBe(revoked);
    expect(resolution(revoked, t1).status).toBe("revoked");
  });
});

describe("line details and metadata", () => {
  it("a new line keeps the product's details as they were when it was added", () => {
    const cart = newCart([item(1)]);
    const renamed = productOffer([{ currency: "USD", minQuantity: 1, amount: 1000n }], {
      details: { ...mugDetails, subtitle: "Porcelain", sku: "MUG-2" },
    });
    const more = addLineItem(cart, item(2, undefined, renamed), at(t1));
    expect(more.lines).toHaveLength(1);
    expect(more.lines[0]).toMatchObject({ quantity: 3, details: mugDetails, metadata: {} });
  });

  it("equal metadata merges quantities whatever the key order; other metadata makes another line", () => {
    let cart = newCart([item(1, { engraving: "Ada", color: "blue" })]);
    cart = addLineItem(cart, item(2, { color: "blue", engraving: "Ada" }), at(t1));
    expect(cart.lines.map((line) => line.quantity)).toEqual([3]);
    cart = addLineItem(cart, item(1, { engraving: "Bob" }), at(t1));
    cart = addLineItem(cart, item(4), at(t2));
    expect(cart.lines.map((line) => [line.quantity, line.metadata])).toEqual([
      [3, { engraving: "Ada", color: "blue" }],
      [1, { engraving: "Bob" }],
      [4, {}],
    ]);
  });

  it("UpdateLineItem replaces a line's metadata, keeping its quantity unless given, and the line stays its own", () => {
    let cart = newCart([item(1, { a: "1" }), item(2, { a: "2" })]);
    const offers = new Map([["mug", mug]]);
    cart = updateLineItem(cart, cart.lines[1]!.id, undefined, offers, at(t1), { a: "1" });
    expect(cart.lines.map((line) => [line.quantity, line.metadata])).toEqual([
      [1, { a: "1" }],
      [2, { a: "1" }],
    ]);
    cart = updateLineItem(cart, cart.lines[0]!.id, 4, offers, at(t2), {});
    expect(cart.lines.map((line) => [line.quantity, line.metadata])).toEqual([
      [4, {}],
      [2, { a: "1" }],
    ]);
    // New units join the first line with equal metadata.
    expect(addLineItem(cart, item(1, { a: "1" }), at(t2)).lines.map((line) => line.quantity)).toEqual([4, 3]);
  });

  it("CreateCart merges items of the same product only when their metadata is equal", () => {
    const cart = newCart([item(1, { a: "1" }), item(2, { a: "1" }), item(5, { a: "2" })]);
    expect(cart.lines.map((line) => line.quantity)).toEqual([3, 5]);
  });

  it("MergeCarts joins source lines to target lines of the same product and metadata only, keeping their details and metadata", () => {
    const target = newCart([item(1, { gift: "yes" })]);
    const source = { ...newCart([item(2, { gift: "yes" }), item(3)]), id: "cart-2" };
    const { target: merged } = mergeCarts(target, source, new Map([["mug", mug]]), ["new-a", "new-b"], at(t1));
    expect(merged.lines.map((line) => [line.quantity, line.metadata, line.details.sku])).toEqual([
      [3, { gift: "yes" }, "MUG-1"],
      [3, {}, "MUG-1"],
    ]);
  });
});

describe("payment collections", () => {
  it("a collection starts at the cart's total and answers unchanged when asked again", () => {
    const cart = newCart([item(2)]);
    const paid = createPaymentCollection(cart, "pc-1", at(t1));
    expect(paid.paymentCollection).toMatchObject({ id: "pc-1", currency: "USD", amount: 2000n, sessions: [] });
    expect(paid.version).toBe(cart.version + 1);
    expect(createPaymentCollection(paid, "pc-2", at(t2))).toBe(paid);
  });

  it("only active carts get one", () => {
    const deleted = deleteCart(newCart([item(1)]), at(t1));
    expect(domainRefusal(() => createPaymentCollection(deleted, "pc-1", at(t2))).reason).toBe("failed_precondition");
  });

  it("a session replaces the previous one, for the collection's amount", () => {
    let cart = createPaymentCollection(newCart([item(2)]), "pc-1", at(t0));
    cart = startPaymentSession(cart, { id: "s-1", providerId: "system", data: {} }, at(t1));
    cart = startPaymentSession(cart, { id: "s-2", providerId: "system", data: { note: "x" } }, at(t2));
    expect(cart.paymentCollection!.sessions).toEqual([
      { id: "s-2", providerId: "system", currency: "USD", amount: 2000n, status: "pending", data: { note: "x" }, createdAt: t2, updatedAt: t2 },
    ]);
  });

  it("refuses a provider the region does not offer", () => {
    const cart = createPaymentCollection(newCart([item(1)]), "pc-1", at(t0));
    const refusal = domainRefusal(() => startPaymentSession(cart, { id: "s", providerId: "stripe", data: {} }, at(t1)));
    expect(refusal.facts).toEqual({ payment_refusal: "provider_not_in_region" });
    expect(regionPaymentProviderIds(region)).toEqual(["system"]);
    expect(() => checkPaymentProviderIds(["system"])).not.toThrow();
    expect(domainRefusal(() => checkPaymentProviderIds(["system", "stripe"])).message).toContain("stripe");
  });

  it("follows the cart total: a change of the total drops the sessions, a change that keeps it keeps them", () => {
    let cart = createPaymentCollection(newCart([item(2)]), "pc-1", at(t0));
    cart = startPaymentSession(cart, { id: "s-1", providerId: "system", data: {} }, at(t0));
    const emailChanged = updateCart(cart, { email: "bob@example.com" }, at(t1));
    expect(emailChanged.paymentCollection).toBe(cart.paymentCollection);
    const added = addLineItem(cart, item(1, { a: "1" }), at(t1));
    expect(added.paymentCollection).toMatchObject({ amount: 3000n, sessions: [] });
    const back = removeLineItem(added, added.lines[1]!.id, at(t1));
    expect(back.paymentCollection).toMatchObject({ amount: 2000n, sessions: [] });
    const resumed = startPaymentSession(back, { id: "s-2", providerId: "system", data: {} }, at(t1));
    const quantityChanged = updateLineItem(resumed, resumed.lines[0]!.id, 5, new Map([["mug", mug]]), at(t2));
    expect(quantityChanged.paymentCollection).toMatchObject({ amount: 5000n, sessions: [] });
    const collection = newPaymentCollection("pc", "USD", 100n, t0);
    expect(followCartTotal(collection, "USD", 100n, t1)).toBe(collection);
    expect(followCartTotal(collection, "EUR", 100n, t1)).toMatchObject({ currency: "EUR", amount: 100n, updatedAt: t1 });
  });
});

describe("payment at completion", () => {
  const withSession = (cart: Cart) =>
    startPaymentSession(createPaymentCollection(cart, "pc-1", at(t0)), { id: "s-1", providerId: "system", data: {} }, at(t0));
  const digital = productOffer([{ currency: "USD", minQuantity: 1, amount: 1000n }], { shippable: false, details: mugDetails });
  const input = (extra: Partial<CompletionInput> = {}): CompletionInput => ({
    offers: new Map([["mug", digital]]),
    promotionUsage: new Map(),
    orderId: "order-1",
    paymentReference: "",
    ...extra,
  });
  const ready = () => newCart([item(1, undefined, digital)]);

  it("authorizes the session and records it as the order's payment reference", () => {
    const { cart, order } = completeCart(withSession(ready()), input({ requirePaymentSession: true }), at(t1));
    expect(cart.paymentCollection!.sessions[0]).toMatchObject({ id: "s-1", status: "authorized", updatedAt: t1 });
    expect(order.paymentReference).toBe("s-1");
    expect(completeCart(withSession(ready()), input({ paymentReference: "psp-9" }), at(t1)).order.paymentReference).toBe("psp-9");
  });

  it("when required, refuses a cart above zero without a collection or a session, naming why", () => {
    const noCollection = domainRefusal(() => completeCart(ready(), input({ requirePaymentSession: true }), at(t1)));
    expect(noCollection.facts).toEqual({ payment_refusal: "no_payment_collection" });
    expect(noCollection.message).toContain("no payment collection");
    const noSession = domainRefusal(() =>
      completeCart(createPaymentCollection(ready(), "pc-1", at(t0)), input({ requirePaymentSession: true }), at(t1)),
    );
    expect(noSession.facts).toEqual({ payment_refusal: "no_payment_session" });
  });

  it("does not require payment for a free cart, nor without the flag", () => {
    const free = productOffer([{ currency: "USD", minQuantity: 1, amount: 0n }], { shippable: false });
    const freeCart = newCart([item(1, undefined, free)]);
    const { order } = completeCart(freeCart, input({ offers: new Map([["mug", free]]), requirePaymentSession: true }), at(t1));
    expect(order.totals.cart.total).toBe(0n);
    expect(completeCart(ready(), input(), at(t1)).order.paymentReference).toBe("");
  });

  it("refuses a session whose provider the region no longer offers, when required", () => {
    const stripeOnly: Region = { ...region, paymentProviderIds: ["stripe"] };
    const collection = withSession(ready()).paymentCollection!;
    expect(() => authorizeForCompletion(collection, { total: 1000n }, stripeOnly, true, t1)).toThrow(/not offered in region us/);
    expect(authorizeForCompletion(collection, { total: 1000n }, stripeOnly, false, t1)).toBeUndefined();
  });
});
