import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addLineItem,
  type Cart,
  type CartLimits,
  createCart,
  deleteCart,
  etagOf,
  type ItemToAdd,
  type ProductOffer,
  removeLineItem,
  updateCartFields,
  updateLineItem,
} from "../../src/domain/cart.js";
import { DomainError } from "../../src/domain/errors.js";

const t0 = new Date("2026-01-01T00:00:00Z");
const t1 = new Date("2026-01-01T00:01:00Z");
const t2 = new Date("2026-01-01T00:02:00Z");

const limits: CartLimits = { maxLines: 3, maxLineQuantity: 100 };

const offer = (unitPrice: bigint | undefined, active = true): ProductOffer => ({ title: "Product", active, unitPrice });

let lineCounter = 0;
function item(productId: string, quantity: number, unitPrice = 250n, active = true): ItemToAdd {
  return { productId, quantity, offer: offer(unitPrice, active), newLineId: `line-${++lineCounter}` };
}

function newCart(items: readonly ItemToAdd[] = [], currency = "USD"): Cart {
  return createCart({ id: "cart-1", customerId: "c-1", currency, email: "", metadata: {} }, items, t0, limits);
}

/** Runs `change` and returns the DomainError it throws. */
function refusal(change: () => unknown): DomainError {
  try {
    change();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("the change was accepted");
}

function expectTotalsConsistent(cart: Cart): void {
  const subtotal = cart.lines.reduce((sum, line) => sum + BigInt(line.quantity) * line.unitPrice, 0n);
  expect(cart.subtotal).toBe(subtotal);
  expect(cart.total).toBe(subtotal);
  expect(cart.itemQuantity).toBe(cart.lines.reduce((sum, line) => sum + line.quantity, 0));
}

describe("createCart", () => {
  it("starts an empty active cart at version 1", () => {
    const cart = newCart();
    expect(cart).toMatchObject({ status: "active", currency: "USD", lines: [], subtotal: 0n, total: 0n, itemQuantity: 0, version: 1 });
    expect(cart.createdAt).toEqual(t0);
    expect(cart.updatedAt).toEqual(t0);
  });

  it("merges initial items of the same product into one line, in first-seen order", () => {
    const cart = newCart([item("mug", 2, 300n), item("tee", 1, 1000n), item("mug", 3, 300n)]);
    expect(cart.lines.map((line) => [line.productId, line.quantity, line.unitPrice])).toEqual([
      ["mug", 5, 300n],
      ["tee", 1, 1000n],
    ]);
    expect(cart.total).toBe(5n * 300n + 1000n);
    expect(cart.itemQuantity).toBe(6);
    expect(cart.version).toBe(1);
  });

  it("refuses an unsupported currency", () => {
    const error = refusal(() => newCart([], "XTS"));
    expect(error.reason).toBe("invalid_argument");
    expect(error.message).toMatch(/XTS/);
  });

  it("refuses initial items the catalog cannot sell", () => {
    expect(refusal(() => newCart([{ ...item("ghost", 1), offer: undefined }])).reason).toBe("not_found");
    expect(refusal(() => newCart([item("old", 1, 100n, false)])).reason).toBe("failed_precondition");
  });
});

describe("addLineItem", () => {
  it("appends a new product as a new line priced from the catalog offer", () => {
    const cart = addLineItem(newCart([item("mug", 1, 300n)]), item("tee", 2, 1000n), t1, limits);
    expect(cart.lines[1]).toMatchObject({ productId: "tee", quantity: 2, unitPrice: 1000n, createdAt: t1, updatedAt: t1 });
    expect(cart.total).toBe(300n + 2000n);
    expect(cart.updatedAt).toEqual(t1);
  });

  it("merges into the existing line of the product and reprices it at the current offer", () => {
    const before = newCart([item("mug", 2, 300n), item("tee", 1, 1000n)]);
    const after = addLineItem(before, item("mug", 3, 350n), t1, limits);
    expect(after.lines).toHaveLength(2);
    expect(after.lines[0]).toMatchObject({ id: before.lines[0]!.id, quantity: 5, unitPrice: 350n, createdAt: t0, updatedAt: t1 });
    expect(after.total).toBe(5n * 350n + 1000n);
    // Untouched lines stay the same objects: storage writes only lines that changed.
    expect(after.lines[1]).toBe(before.lines[1]);
  });

  it("accepts a line quantity up to the limit and refuses one beyond, new or merged", () => {
    expect(addLineItem(newCart(), item("mug", 100), t1, limits).lines[0]!.quantity).toBe(100);
    const fresh = refusal(() => addLineItem(newCart(), item("mug", 101), t1, limits));
    expect(fresh.reason).toBe("failed_precondition");
    expect(fresh.message).toMatch(/mug.*100/);
    const merged = refusal(() => addLineItem(newCart([item("mug", 60)]), item("mug", 41), t1, limits));
    expect(merged.reason).toBe("failed_precondition");
    expect(merged.message).toMatch(/101 of product mug/);
  });

  it("refuses a new line beyond the line limit but still merges into existing lines", () => {
    const full = newCart([item("a", 1), item("b", 1), item("c", 1)]);
    const error = refusal(() => addLineItem(full, item("d", 1), t1, limits));
    expect(error.reason).toBe("failed_precondition");
    expect(error.message).toMatch(/maximum of 3 lines/);
    expect(addLineItem(full, item("a", 1), t1, limits).lines[0]!.quantity).toBe(2);
  });

  it("refuses unknown, inactive and unpriced products, naming them", () => {
    const cart = newCart([], "EUR");
    const unknown = refusal(() => addLineItem(cart, { ...item("ghost", 1), offer: undefined }, t1, limits));
    expect([unknown.reason, unknown.message]).toEqual(["not_found", "product ghost does not exist"]);
    const inactive = refusal(() => addLineItem(cart, item("old", 1, 100n, false), t1, limits));
    expect([inactive.reason, inactive.message]).toEqual(["failed_precondition", "product old is not active"]);
    const unpriced = refusal(() => addLineItem(cart, { ...item("usd-only", 1), offer: offer(undefined) }, t1, limits));
    expect([unpriced.reason, unpriced.message]).toEqual(["failed_precondition", "product usd-only has no price in EUR"]);
  });

  it("leaves the cart it was given unchanged", () => {
    const before = newCart([item("mug", 1)]);
    const copy = structuredClone(before);
    addLineItem(before, item("mug", 2), t1, limits);
    refusal(() => addLineItem(before, item("mug", 500), t1, limits));
    expect(before).toEqual(copy);
  });
});

describe("updateLineItem and removeLineItem", () => {
  const cart = newCart([item("mug", 2, 300n), item("tee", 1, 1000n)]);
  const [mug, tee] = cart.lines;

  it("sets the quantity and keeps the unit price", () => {
    const updated = updateLineItem(cart, mug!.id, 7, t1, limits);
    expect(updated.lines[0]).toMatchObject({ quantity: 7, unitPrice: 300n, updatedAt: t1 });
    expect(updated.total).toBe(7n * 300n + 1000n);
    expect(updated.lines[1]).toBe(tee);
  });

  it("removes the line when the quantity is 0", () => {
    const updated = updateLineItem(cart, mug!.id, 0, t1, limits);
    expect(updated.lines).toEqual([tee]);
    expect(updated.total).toBe(1000n);
  });

  it("refuses a quantity beyond the limit and an unknown line", () => {
    expect(refusal(() => updateLineItem(cart, mug!.id, 101, t1, limits)).reason).toBe("failed_precondition");
    const unknown = refusal(() => updateLineItem(cart, "line-x", 1, t1, limits));
    expect([unknown.reason, unknown.message]).toEqual(["not_found", "cart cart-1 has no line item line-x"]);
  });

  it("removes a line, and refuses to remove an unknown one", () => {
    const removed = removeLineItem(cart, tee!.id, t1);
    expect(removed.lines).toEqual([mug]);
    expect(removed.total).toBe(600n);
    expect(refusal(() => removeLineItem(removed, tee!.id, t2)).reason).toBe("not_found");
  });
});

describe("updateCartFields", () => {
  it("changes the currency while the cart is empty", () => {
    expect(updateCartFields(newCart(), { currency: "EUR" }, t1).currency).toBe("EUR");
  });

  it("refuses a currency change once the cart has lines, but accepts restating the same currency", () => {
    const filled = newCart([item("mug", 1)]);
    const error = refusal(() => updateCartFields(filled, { currency: "EUR" }, t1));
    expect(error.reason).toBe("failed_precondition");
    expect(error.message).toMatch(/currency/);
    expect(updateCartFields(filled, { currency: "USD" }, t1).currency).toBe("USD");
  });

  it("refuses an unsupported currency", () => {
    expect(refusal(() => updateCartFields(newCart(), { currency: "XTS" }, t1)).reason).toBe("invalid_argument");
  });

  it("changes email and metadata and keeps the lines", () => {
    const before = newCart([item("mug", 1)]);
    const after = updateCartFields(before, { email: "a@example.com", metadata: { source: "app" } }, t1);
    expect(after).toMatchObject({ email: "a@example.com", metadata: { source: "app" }, lines: before.lines, version: 2 });
  });
});

describe("finished carts", () => {
  const deleted = deleteCart(newCart([item("mug", 1)]), t1);
  const completed: Cart = { ...newCart([item("mug", 1)]), status: "completed" };

  it("deleteCart marks the cart deleted, one version later", () => {
    expect(deleted).toMatchObject({ status: "deleted", version: 2, updatedAt: t1 });
  });

  it.each([
    ["deleted", deleted],
    ["completed", completed],
  ] as const)("a %s cart refuses every change", (status, cart) => {
    const line = cart.lines[0]!.id;
    const changes = [
      () => addLineItem(cart, item("tee", 1), t2, limits),
      () => updateLineItem(cart, line, 2, t2, limits),
      () => removeLineItem(cart, line, t2),
      () => updateCartFields(cart, { email: "a@example.com" }, t2),
      () => deleteCart(cart, t2),
    ];
    for (const change of changes) {
      const error = refusal(change);
      expect(error.reason).toBe("failed_precondition");
      expect(error.message).toBe(`cart cart-1 is ${status} and can no longer be changed`);
    }
  });
});

describe("versions", () => {
  it("every change bumps the version by one and changes the etag", () => {
    const v1 = newCart();
    const v2 = addLineItem(v1, item("mug", 1), t1, limits);
    const v3 = updateLineItem(v2, v2.lines[0]!.id, 3, t1, limits);
    const v4 = removeLineItem(v3, v3.lines[0]!.id, t1);
    const v5 = updateCartFields(v4, { email: "a@example.com" }, t1);
    const v6 = deleteCart(v5, t2);
    expect([v1, v2, v3, v4, v5, v6].map((cart) => cart.version)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set([v1, v2, v3, v4, v5, v6].map(etagOf)).size).toBe(6);
  });
});

/** One step of a random cart session; indexes pick among products or existing lines. */
type Step =
  | { kind: "add"; product: number; quantity: number; unitPrice: bigint }
  | { kind: "update"; line: number; quantity: number }
  | { kind: "remove"; line: number };

const productCount = 5;
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant("add" as const),
    product: fc.nat(productCount - 1),
    quantity: fc.integer({ min: 1, max: 60 }),
    unitPrice: fc.bigInt({ min: 0n, max: 100_000_000_000n }),
  }),
  fc.record({ kind: fc.constant("update" as const), line: fc.nat(10), quantity: fc.integer({ min: 0, max: 120 }) }),
  fc.record({ kind: fc.constant("remove" as const), line: fc.nat(10) }),
);

describe("property: any session of adds, updates and removes", () => {
  it("keeps totals = Σ quantity × unit price, itemQuantity = Σ quantity, positive quantities, rising versions, and matches a simple model", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        let cart = newCart();
        // The model: quantity and price per product, in line order.
        let model: { productId: string; quantity: number; unitPrice: bigint }[] = [];
        for (const [index, current] of steps.entries()) {
          const now = new Date(t0.getTime() + index * 1000);
          const target = cart.lines.length > 0 && current.kind !== "add" ? cart.lines[current.line % cart.lines.length]! : undefined;
          if (current.kind !== "add" && !target) continue;
          let expectedModel = model;
          let refused = false;
          if (current.kind === "add") {
            const productId = `p${current.product}`;
            const existing = model.find((line) => line.productId === productId);
            const quantity = (existing?.quantity ?? 0) + current.quantity;
            refused = quantity > limits.maxLineQuantity || (!existing && model.length >= limits.maxLines);
            expectedModel = existing
              ? model.map((line) => (line === existing ? { productId, quantity, unitPrice: current.unitPrice } : line))
              : [...model, { productId, quantity, unitPrice: current.unitPrice }];
          } else if (current.kind === "update") {
            refused = current.quantity > limits.maxLineQuantity;
            expectedModel =
              current.quantity === 0
                ? model.filter((line) => line.productId !== target!.productId)
                : model.map((line) => (line.productId === target!.productId ? { ...line, quantity: current.quantity } : line));
          } else {
            expectedModel = model.filter((line) => line.productId !== target!.productId);
          }

          const apply = (): Cart =>
            current.kind === "add"
              ? addLineItem(cart, item(`p${current.product}`, current.quantity, current.unitPrice), now, limits)
              : current.kind === "update"
                ? updateLineItem(cart, target!.id, current.quantity, now, limits)
                : removeLineItem(cart, target!.id, now);
          if (refused) {
            expect(refusal(apply).reason).toBe("failed_precondition");
            continue;
          }
          const next = apply();
          expect(next.version).toBe(cart.version + 1);
          cart = next;
          model = expectedModel;

          expectTotalsConsistent(cart);
          expect(cart.lines.every((line) => line.quantity > 0)).toBe(true);
          expect(new Set(cart.lines.map((line) => line.productId)).size).toBe(cart.lines.length);
          expect(cart.lines.map(({ productId, quantity, unitPrice }) => ({ productId, quantity, unitPrice }))).toEqual(model);
        }
      }),
      { numRuns: 300 },
    );
  });
});
