import { describe, expect, it } from "vitest";
import type { Cart } from "../../src/domain/cart.js";
import { describeCartChange } from "../../src/domain/cart-events.js";
import { noProductDetails } from "../../src/domain/product.js";

const line = {
  id: "l1",
  productId: "p",
  title: "P",
  quantity: 1,
  unitPrice: 100n,
  discountable: true,
  shippable: true,
  taxClass: "standard",
  giftCard: false,
  details: noProductDetails,
  metadata: {},
  createdAt: new Date(0),
  updatedAt: new Date(0),
};
const cart = {
  id: "c1",
  customerId: "alice",
  status: "active",
  regionId: "us",
  currency: "USD",
  salesChannelId: "web",
  email: "",
  metadata: {},
  lines: [line],
  shippingMethods: [],
  promotions: [],
  itemQuantity: 1,
  version: 3,
  createdAt: new Date(0),
  updatedAt: new Date(0),
} as unknown as Cart;
const later = (change: Partial<Cart>): Cart => ({ ...cart, ...change, version: cart.version + 1 });

describe("describeCartChange", () => {
  it("names a new cart created", () => {
    expect(describeCartChange(undefined, cart)).toEqual({ kind: "created", aspects: [] });
  });

  it.each([
    ["completed", "order_placed"],
    ["merged", "merged"],
    ["expired", "expired"],
    ["deleted", "deleted"],
  ] as const)("names a change to status %s %s", (status, kind) => {
    expect(describeCartChange(cart, later({ status }))).toEqual({ kind, aspects: [] });
  });

  it("names a new customer a transfer", () => {
    expect(describeCartChange(cart, later({ customerId: "bob" }))).toEqual({ kind: "transferred", aspects: [] });
  });

  it("lists the aspects that changed, in a fixed order; lines by identity, as the domain keeps unchanged ones", () => {
    expect(describeCartChange(cart, later({ lines: [line] })).aspects).toEqual([]);
    expect(describeCartChange(cart, later({ lines: [{ ...line, quantity: 2 }] })).aspects).toEqual(["lines"]);
    expect(describeCartChange(cart, later({ lines: [] })).aspects).toEqual(["lines"]);
    expect(
      describeCartChange(
        cart,
        later({
          email: "a@example.com",
          promotions: [{ promotionId: "p", code: "TEN" }],
          shippingAddress: { name: "A", line1: "1", city: "T", postalCode: "1", country: "US" } as Cart["shippingAddress"],
          shippingMethods: [{ id: "m" } as Cart["shippingMethods"][number]],
        }),
      ),
    ).toEqual({ kind: "changed", aspects: ["promotions", "shipping", "addresses", "details"] });
    expect(describeCartChange(cart, later({ metadata: { a: "1" } })).aspects).toEqual(["details"]);
  });
});
