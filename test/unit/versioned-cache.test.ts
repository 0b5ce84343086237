import { describe, expect, it } from "vitest";
import { VersionedCache, type VersionedCacheBounds } from "../../src/versioned-cache.js";

const cart = (id: string, email = "") => ({ id, email });
const size = (id: string) => JSON.stringify(cart(id)).length;
const cache = (bounds: VersionedCacheBounds) => new VersionedCache<ReturnType<typeof cart>>(bounds, (value) => JSON.stringify(value).length);

const version = <T>(held: VersionedCache<T>, id: string) => held.get(id)?.version;

describe("VersionedCache", () => {
  it("holds a value with the version it is of", () => {
    const held = cache({ entries: 10, size: 10_000 });
    const message = cart("a");
    held.hold("a", 3, message);
    expect(held.get("a")).toMatchObject({ version: 3, value: message });
    expect(held.get("b")).toBeUndefined();
  });

  it("holds what it was given last, whatever its version: after a restore the database's may be lower", () => {
    const held = cache({ entries: 10, size: 10_000 });
    held.hold("a", 5, cart("a", "new@example.com"));
    const restored = cart("a", "restored@example.com");
    held.hold("a", 4, restored);
    expect(held.get("a")).toMatchObject({ version: 4, value: restored });
  });

  it("lets the least recently used cart go first when it holds too many carts", () => {
    const held = cache({ entries: 2, size: 10_000 });
    held.hold("a", 1, cart("a"));
    held.hold("b", 1, cart("b"));
    held.get("a");
    held.hold("c", 1, cart("c"));
    expect([version(held, "a"), version(held, "b"), version(held, "c")]).toEqual([1, undefined, 1]);
  });

  it("holds no more than its size bound, and no message larger than it", () => {
    const held = cache({ entries: 100, size: 2 * size("a") });
    held.hold("a", 1, cart("a"));
    held.hold("b", 1, cart("b"));
    held.hold("c", 1, cart("c"));
    expect([version(held, "a"), version(held, "b"), version(held, "c")]).toEqual([undefined, 1, 1]);
    held.hold("big", 1, cart("big", "x".repeat(3 * size("a"))));
    expect(version(held, "big")).toBeUndefined();
    expect(version(held, "c")).toBe(1);
  });
});
