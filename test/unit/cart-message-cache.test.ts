import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CartMessageCache } from "../../src/service/cart-message-cache.js";
import { CartSchema } from "../../gen/commerce/cart/v1/cart_pb.js";

const cart = (id: string, email = "") => create(CartSchema, { id, email });
const size = (id: string) => toBinary(CartSchema, cart(id)).byteLength;

describe("CartMessageCache", () => {
  it("answers a held cart only at the version it was held at", () => {
    const cache = new CartMessageCache({ carts: 10, encodedBytes: 10_000 });
    const message = cart("a");
    cache.hold("a", 3, message);
    expect(cache.heldVersion("a")).toBe(3);
    expect(cache.get("a", 3)).toBe(message);
    expect(cache.get("a", 4)).toBeUndefined();
    expect(cache.heldVersion("b")).toBeUndefined();
  });

  it("keeps the newer version when an older answer comes late", () => {
    const cache = new CartMessageCache({ carts: 10, encodedBytes: 10_000 });
    const newer = cart("a", "new@example.com");
    cache.hold("a", 5, newer);
    cache.hold("a", 4, cart("a", "old@example.com"));
    expect(cache.get("a", 5)).toBe(newer);
    cache.hold("a", 6, cart("a", "newest@example.com"));
    expect(cache.heldVersion("a")).toBe(6);
  });

  it("lets the least recently used cart go first when it holds too many carts", () => {
    const cache = new CartMessageCache({ carts: 2, encodedBytes: 10_000 });
    cache.hold("a", 1, cart("a"));
    cache.hold("b", 1, cart("b"));
    cache.get("a", 1);
    cache.hold("c", 1, cart("c"));
    expect([cache.heldVersion("a"), cache.heldVersion("b"), cache.heldVersion("c")]).toEqual([1, undefined, 1]);
  });

  it("holds no more encoded bytes than its bound, and no message larger than it", () => {
    const cache = new CartMessageCache({ carts: 100, encodedBytes: 2 * size("a") });
    cache.hold("a", 1, cart("a"));
    cache.hold("b", 1, cart("b"));
    cache.hold("c", 1, cart("c"));
    expect([cache.heldVersion("a"), cache.heldVersion("b"), cache.heldVersion("c")]).toEqual([undefined, 1, 1]);
    cache.hold("big", 1, cart("big", "x".repeat(3 * size("a"))));
    expect(cache.heldVersion("big")).toBeUndefined();
    expect(cache.heldVersion("c")).toBe(1);
  });
});
