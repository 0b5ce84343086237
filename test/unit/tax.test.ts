import { describe, expect, it } from "vitest";
import { ratePercent, resolveTaxRates, taxesOn, type RegionTax } from "../../src/domain/tax.js";

const northAmerica: RegionTax = {
  pricesIncludeTax: false,
  defaults: { ratePpm: 50_000 },
  countries: [
    {
      country: "US",
      ratePpm: 0,
      provinces: [
        { province: "CA", ratePpm: 72_500 },
        { province: "NY", ratePpm: 88_750, classRates: [{ taxClass: "grocery", ratePpm: 0 }] },
      ],
    },
    {
      country: "CA",
      ratePpm: 50_000,
      classRates: [{ taxClass: "zero", ratePpm: 0 }],
      provinces: [
        { province: "ON", ratePpm: 130_000 },
        { province: "QC", ratePpm: 99_750, combined: true, classRates: [{ taxClass: "zero", ratePpm: 0 }] },
      ],
    },
  ],
};

const rate = (code: string, ratePpm: number, taxClass = "standard") => ({ code, ratePpm, taxClass });

describe("resolveTaxRates", () => {
  it("uses the province's rate, then the country's, then the default", () => {
    expect(resolveTaxRates(northAmerica, { country: "US", province: "CA" }, "standard")).toEqual([rate("US-CA", 72_500)]);
    expect(resolveTaxRates(northAmerica, { country: "US", province: "OR" }, "standard")).toEqual([rate("US", 0)]);
    expect(resolveTaxRates(northAmerica, { country: "US" }, "standard")).toEqual([rate("US", 0)]);
    expect(resolveTaxRates(northAmerica, { country: "MX", province: "CA" }, "standard")).toEqual([rate("default", 50_000)]);
  });

  it("looks a province up within its own country only", () => {
    // "ON" is a rate in Canada, not in the US.
    expect(resolveTaxRates(northAmerica, { country: "US", province: "ON" }, "standard")).toEqual([rate("US", 0)]);
    expect(resolveTaxRates(northAmerica, { country: "CA", province: "ON" }, "standard")).toEqual([rate("CA-ON", 130_000)]);
  });

  it("charges a combined province's rate after its country's", () => {
    expect(resolveTaxRates(northAmerica, { country: "CA", province: "QC" }, "standard")).toEqual([
      rate("CA", 50_000),
      rate("CA-QC", 99_750),
    ]);
  });

  it("uses the class's own rate at the place, else the place's standard rate", () => {
    expect(resolveTaxRates(northAmerica, { country: "US", province: "NY" }, "grocery")).toEqual([rate("US-NY", 0, "grocery")]);
    // California has no grocery rate: its standard rate applies, and the tax line says so.
    expect(resolveTaxRates(northAmerica, { country: "US", province: "CA" }, "grocery")).toEqual([rate("US-CA", 72_500)]);
    expect(resolveTaxRates(northAmerica, { country: "CA", province: "QC" }, "zero")).toEqual([
      rate("CA", 0, "zero"),
      rate("CA-QC", 0, "zero"),
    ]);
  });

  it("uses the default without an address", () => {
    expect(resolveTaxRates(northAmerica, undefined, "standard")).toEqual([rate("default", 50_000)]);
  });

  it("compares codes case-insensitively", () => {
    expect(resolveTaxRates(northAmerica, { country: "us", province: "ca" }, "standard")).toEqual([rate("US-CA", 72_500)]);
  });
});

describe("taxesOn", () => {
  it("adds tax on a net amount, each rate rounded half-even once", () => {
    expect(taxesOn(2997n, [100_000], false)).toEqual([300n]); // 299.7 → 300
    expect(taxesOn(25n, [100_000], false)).toEqual([2n]); // 2.5 → 2
    expect(taxesOn(5600n, [88_750], false)).toEqual([497n]); // 497.0
    expect(taxesOn(1000n, [50_000, 99_750], false)).toEqual([50n, 100n]); // 50.0, 99.75 → 100
  });

  it("finds the tax contained in a gross amount", () => {
    expect(taxesOn(1190n, [190_000], true)).toEqual([190n]); // 11.90 = 10.00 + 19 %
    expect(taxesOn(1200n, [200_000], true)).toEqual([200n]);
    expect(taxesOn(2997n, [190_000], true)).toEqual([479n]); // 478.51
    expect(taxesOn(1000n, [0], true)).toEqual([0n]);
    // 11.4975 gross at 5 % + 9.975 %: the net 10.00 carries 0.50 and 0.9975 → 1.00.
    expect(taxesOn(1149750n, [50_000, 99_750], true)).toEqual([50_000n, 99_750n]);
  });

  it("charges nothing without rates", () => {
    expect(taxesOn(1000n, [], false)).toEqual([]);
  });
});

describe("ratePercent", () => {
  it.each([
    [88_750, "8.875"],
    [99_750, "9.975"],
    [200_000, "20"],
    [72_500, "7.25"],
    [5, "0.0005"],
    [0, "0"],
    [1_000_000, "100"],
  ])("%i ppm is %s %%", (ppm, percent) => {
    expect(ratePercent(ppm)).toBe(percent);
  });
});
