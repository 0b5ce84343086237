import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { encodeOnce, toBinaryReusing } from "../../src/service/encoded-messages.js";
import { CartEventSchema, CartEventType } from "../../gen/commerce/cart/v1/events_pb.js";
import { AddLineItemResponseSchema } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CartSchema } from "../../gen/commerce/cart/v1/cart_pb.js";

const cartMessage = () =>
  create(CartSchema, {
    id: "0193a000-0000-7000-8000-000000000001",
    customerId: "alice",
    currency: "USD",
    metadata: { gift: "yes" },
    items: [{ id: "0193a000-0000-7000-8000-000000000002", productId: "sku-1", quantity: 2, unitPriceCents: 1250n }],
    subtotalCents: 2500n,
    totalCents: 2500n,
    createdAt: timestampFromDate(new Date(1_700_000_000_000)),
  });

describe("toBinaryReusing", () => {
  it("encodes exactly like toBinary when no field holds a remembered message", () => {
    const response = create(AddLineItemResponseSchema, { cart: cartMessage() });
    expect(toBinaryReusing(AddLineItemResponseSchema, response)).toEqual(toBinary(AddLineItemResponseSchema, response));
  });

  it("writes a remembered message's encoding, which decodes to the same message, in any message that holds it", () => {
    const cart = cartMessage();
    encodeOnce(CartSchema, cart);
    const event = create(CartEventSchema, { id: "e1", type: CartEventType.CART_CHANGED, cartId: cart.id, cartVersion: 7n, cart, principal: "alice" });
    const response = create(AddLineItemResponseSchema, { cart });
    expect(equals(CartEventSchema, fromBinary(CartEventSchema, toBinaryReusing(CartEventSchema, event)), event)).toBe(true);
    expect(equals(AddLineItemResponseSchema, fromBinary(AddLineItemResponseSchema, toBinaryReusing(AddLineItemResponseSchema, response)), response)).toBe(true);
  });

  it("takes the remembered bytes as they are: a message must not change once encoded", () => {
    const cart = cartMessage();
    const remembered = encodeOnce(CartSchema, cart);
    expect(encodeOnce(CartSchema, cart)).toBe(remembered);
    cart.email = "changed@example.com";
    const decoded = fromBinary(AddLineItemResponseSchema, toBinaryReusing(AddLineItemResponseSchema, create(AddLineItemResponseSchema, { cart })));
    expect(decoded.cart?.email).toBe("");
  });
});
