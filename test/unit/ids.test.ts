import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/storage/ids.js";

const v7Layout = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The 48-bit Unix millisecond timestamp at the front of a UUIDv7. */
const millisOf = (id: string) => parseInt(id.replaceAll("-", "").slice(0, 12), 16);

// The generator remembers the last millisecond it used, so each test below
// starts at a later, fixed time of its own.
const base = Date.UTC(2030, 0, 1);

describe("uuidv7", () => {
  // First, before the tests below move the generator's clock into the future.
  it("uses the current time by default", () => {
    const before = Date.now();
    const id = uuidv7();
    expect(millisOf(id)).toBeGreaterThanOrEqual(before);
    expect(millisOf(id)).toBeLessThanOrEqual(Date.now());
  });

  it("has the RFC 9562 version 7 layout with the given time in its first 48 bits", () => {
    const now = base;
    const id = uuidv7(now);
    expect(id).toMatch(v7Layout);
    expect(millisOf(id)).toBe(now);
  });

  it("is strictly increasing and unique within one millisecond", () => {
    const now = base + 1000;
    const ids = Array.from({ length: 4096 }, () => uuidv7(now));
    expect(ids.every((id) => v7Layout.test(id))).toBe(true);
    expect(ids.every((id) => millisOf(id) === now)).toBe(true);
    expect(ids.every((id, index) => index === 0 || id > ids[index - 1]!)).toBe(true);
  });

  it("keeps increasing past 4096 ids in one millisecond by borrowing the next one", () => {
    const now = base + 2000;
    const ids = Array.from({ length: 10_000 }, () => uuidv7(now));
    expect(ids.every((id, index) => index === 0 || id > ids[index - 1]!)).toBe(true);
    expect(millisOf(ids[0]!)).toBe(now);
    expect(millisOf(ids.at(-1)!)).toBeGreaterThan(now);
  });

  it("keeps increasing when the clock goes backwards", () => {
    const later = uuidv7(base + 5000);
    const earlier = uuidv7(base + 4000);
    expect(earlier > later).toBe(true);
  });

  it("sorts by creation time across milliseconds and differs in its random bits", () => {
    const a = uuidv7(base + 6000);
    const b = uuidv7(base + 6001);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 100 }, (_, index) => uuidv7(base + 7000 + index).slice(19))).size).toBe(100);
  });
});
