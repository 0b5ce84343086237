import { describe, expect, it } from "vitest";
import { resolveTaxRate, taxOn, type RegionTax } from "../../src/domain/tax.js";

const northAmerica: RegionTax = {
  pricesIncludeTax: false,
  defaultBasisPoints: 500,
  countries: [
    { country: "US", basisPoints: 0, provinces: [{ province: "CA", basisPoints: 725 }] },
    { country: "CA", basisPoints: 500, provinces: [{ province: "ON", basisPoints: 1300 }] },
  ],
};

describe("resolveTaxRate", () => {
  it("uses the province override, then the country, then the default", () => {
    expect(resolveTaxRate(northAmerica, { country: "US", province: "CA" })).toEqual({ code: "US-CA", basisPoints: 725 });
    expect(resolveTaxRate(northAmerica, { country: "US", province: "OR" })).toEqual({ code: "US", basisPoints: 0 });
    expect(resolveTaxRate(northAmerica, { country: "US" })).toEqual({ code: "US", basisPoints: 0 });
    expect(resolveTaxRate(northAmerica, { country: "MX", province: "CA" })).toEqual({ code: "default", basisPoints: 500 });
  });

  it("looks a province up within its own country only", () => {
    // "ON" is an override in Canada, not in the US.
    expect(resolveTaxRate(northAmerica, { country: "US", province: "ON" })).toEqual({ code: "US", basisPoints: 0 });
    expect(resolveTaxRate(northAmerica, { country: "CA", province: "ON" })).toEqual({ code: "CA-ON", basisPoints: 1300 });
  });

  it("uses the default without an address", () => {
    expect(resolveTaxRate(northAmerica, undefined)).toEqual({ code: "default", basisPoints: 500 });
  });

  it("compares codes case-insensitively", () => {
    expect(resolveTaxRate(northAmerica, { country: "us", province: "ca" })).toEqual({ code: "US-CA", basisPoints: 725 });
  });
});

describe("taxOn", () => {
  it("adds tax on a net amount", () => {
    expect(taxOn(2997n, 1000, false)).toBe(300n); // 2.997 → 3.00
    expect(taxOn(25n, 1000, false)).toBe(2n); // 2.5 → 2
  });

  it("finds the tax contained in a gross amount", () => {
    expect(taxOn(1190n, 1900, true)).toBe(190n); // 11.90 = 10.00 + 19 %
    expect(taxOn(1200n, 2000, true)).toBe(200n);
    expect(taxOn(2997n, 1900, true)).toBe(479n); // 478.51
    expect(taxOn(1000n, 0, true)).toBe(0n);
  });
});
