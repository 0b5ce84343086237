import { describe, expect, it } from "vitest";
import { allocateLargestRemainder, basisPointsOf, divideHalfEven, formatAmount } from "../../src/domain/money.js";

describe("divideHalfEven", () => {
  it.each([
    [5n, 2n, 2n], // 2.5 → 2
    [7n, 2n, 4n], // 3.5 → 4
    [-5n, 2n, -2n],
    [-7n, 2n, -4n],
    [5n, -2n, -2n],
    [2997n, 10n, 300n], // 299.7
    [2991n, 10n, 299n], // 299.1
    [6n, 3n, 2n],
    [0n, 7n, 0n],
  ])("%i / %i = %i", (numerator, denominator, expected) => {
    expect(divideHalfEven(numerator, denominator)).toBe(expected);
  });

  it("refuses a zero denominator", () => {
    expect(() => divideHalfEven(1n, 0n)).toThrow(RangeError);
  });
});

describe("basisPointsOf", () => {
  it("takes basis points of an amount, rounding half-even once", () => {
    expect(basisPointsOf(2997n, 1000)).toBe(300n); // 10 % of 29.97 = 2.997
    expect(basisPointsOf(25n, 1000)).toBe(2n); // 2.5
    expect(basisPointsOf(1999n, 725)).toBe(145n); // 144.93
    expect(basisPointsOf(1234n, 10_000)).toBe(1234n);
    expect(basisPointsOf(1234n, 0)).toBe(0n);
  });
});

describe("allocateLargestRemainder", () => {
  it("gives the missing units to the largest remainders", () => {
    // Shares 249.72, 62.59, 93.69: floors 404, the two missing units go to .72 and .69.
    expect(allocateLargestRemainder(406n, [1999n, 501n, 750n])).toEqual([250n, 62n, 94n]);
  });

  it("breaks equal remainders in favour of the earlier part", () => {
    expect(allocateLargestRemainder(1000n, [1n, 1n, 1n])).toEqual([334n, 333n, 333n]);
    expect(allocateLargestRemainder(2n, [5n, 5n, 5n])).toEqual([1n, 1n, 0n]);
  });

  it("gives nothing to a zero weight", () => {
    expect(allocateLargestRemainder(7n, [0n, 3n, 0n, 4n])).toEqual([0n, 3n, 0n, 4n]);
  });

  it("allocates zero across zero weights", () => {
    expect(allocateLargestRemainder(0n, [0n, 0n])).toEqual([0n, 0n]);
    expect(allocateLargestRemainder(0n, [])).toEqual([]);
  });

  it("refuses what it cannot split", () => {
    expect(() => allocateLargestRemainder(1n, [0n, 0n])).toThrow(RangeError);
    expect(() => allocateLargestRemainder(1n, [])).toThrow(RangeError);
    expect(() => allocateLargestRemainder(-1n, [1n])).toThrow(RangeError);
    expect(() => allocateLargestRemainder(1n, [2n, -1n])).toThrow(RangeError);
  });
});

describe("formatAmount", () => {
  it("honours the currency exponent", () => {
    expect(formatAmount(5000n, "USD")).toBe("50.00 USD");
    expect(formatAmount(5n, "USD")).toBe("0.05 USD");
    expect(formatAmount(500n, "JPY")).toBe("500 JPY");
    expect(formatAmount(2510n, "KWD")).toBe("2.510 KWD");
    expect(formatAmount(-1234n, "EUR")).toBe("-12.34 EUR");
  });

  it("refuses an unsupported currency", () => {
    expect(() => formatAmount(1n, "XXX")).toThrow(/not supported/);
  });
});
