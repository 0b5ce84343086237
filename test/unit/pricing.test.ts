import { describe, expect, it } from "vitest";
import { selectPrice, type TieredPrice } from "../../src/domain/pricing.js";

const base: TieredPrice = { currency: "USD", minQuantity: 1, amount: 1000n, compareAtAmount: 1200n };
const bulk: TieredPrice = { currency: "USD", minQuantity: 10, amount: 850n };
const euro: TieredPrice = { currency: "EUR", minQuantity: 1, amount: 950n };
const west: TieredPrice = { currency: "USD", regionId: "west", minQuantity: 1, amount: 900n };
const westBulk: TieredPrice = { currency: "USD", regionId: "west", minQuantity: 20, amount: 800n };
const prices = [base, bulk, euro, west, westBulk];

describe("selectPrice", () => {
  it("picks the highest tier the quantity reaches", () => {
    expect(selectPrice(prices, { currency: "USD", regionId: "east", quantity: 9 })).toBe(base);
    expect(selectPrice(prices, { currency: "USD", regionId: "east", quantity: 10 })).toBe(bulk);
    expect(selectPrice(prices, { currency: "USD", quantity: 500 })).toBe(bulk);
  });

  it("prefers region-specific prices over currency-only ones", () => {
    expect(selectPrice(prices, { currency: "USD", regionId: "west", quantity: 10 })).toBe(west);
    expect(selectPrice(prices, { currency: "USD", regionId: "west", quantity: 20 })).toBe(westBulk);
  });

  it("falls back to currency-only prices when no regional tier applies", () => {
    const onlyBulkInWest = [base, westBulk];
    expect(selectPrice(onlyBulkInWest, { currency: "USD", regionId: "west", quantity: 5 })).toBe(base);
    expect(selectPrice(onlyBulkInWest, { currency: "USD", regionId: "west", quantity: 20 })).toBe(westBulk);
  });

  it("only considers the cart's currency", () => {
    expect(selectPrice(prices, { currency: "EUR", regionId: "west", quantity: 50 })).toBe(euro);
    expect(selectPrice(prices, { currency: "JPY", quantity: 1 })).toBeUndefined();
  });

  it("has no price for a quantity below every tier", () => {
    expect(selectPrice([bulk], { currency: "USD", quantity: 3 })).toBeUndefined();
  });

  it("keeps the first of two prices for the same tier", () => {
    const twin: TieredPrice = { ...base, amount: 999n };
    expect(selectPrice([base, twin], { currency: "USD", quantity: 1 })).toBe(base);
  });
});
