import { divideHalfEven, PPM_PER_WHOLE } from "./money.js";

/**
 * Region tax rates. Rates are integer parts per million of the taxed amount
 * (ppm: 88750 = 8.875 %, 1 000 000 = 100 %), so rates with up to four decimal
 * places of a percent are exact. A region has a default rate, rates per
 * country (ISO 3166-1 alpha-2) and, within a country, optional rates per
 * province (the subdivision part of ISO 3166-2: "CA" in US-CA) that replace
 * the country's rate or, when `combined`, are charged in addition to it
 * (Quebec's QST on top of Canada's GST). Each place has a rate for the
 * standard tax class and optionally rates for other classes (a product's
 * tax_class); a class a place does not list is taxed at its standard rate.
 * Prices in a region either exclude tax (it is added on top) or include it
 * (the price is what the customer pays; the tax is the part of it the region
 * levies).
 */

/** The class of products without one, and of shipping. */
export const STANDARD_TAX_CLASS = "standard";

export interface TaxClassRate {
  readonly taxClass: string;
  readonly ratePpm: number;
}

/** The rates of one place: its standard rate and the classes it taxes otherwise. */
export interface PlaceTaxRates {
  readonly ratePpm: number;
  readonly classRates?: readonly TaxClassRate[];
}

export interface ProvinceTaxRate extends PlaceTaxRates {
  readonly province: string;
  /** True: charged in addition to the country's rate; false or absent: instead of it. */
  readonly combined?: boolean;
}

export interface CountryTaxRate extends PlaceTaxRates {
  readonly country: string;
  readonly provinces?: readonly ProvinceTaxRate[];
}

export interface RegionTax {
  readonly pricesIncludeTax: boolean;
  /** The rates where no country rate applies. */
  readonly defaults: PlaceTaxRates;
  readonly countries: readonly CountryTaxRate[];
}

/** Where the goods go; the cart's shipping address. */
export interface TaxAddress {
  readonly country: string;
  readonly province?: string;
}

/**
 * One rate charged on an amount, and what it comes from: the place ("default",
 * a country "US" or a province "US-CA") and the class whose rate it is (the
 * amount's class, or "standard" when the place has no rate for that class).
 */
export interface AppliedTaxRate {
  readonly code: string;
  readonly taxClass: string;
  readonly ratePpm: number;
}

function sameCode(a: string, b: string): boolean {
  return a.toUpperCase() === b.toUpperCase();
}

function rateAt(place: PlaceTaxRates, code: string, taxClass: string): AppliedTaxRate {
  const classRate = taxClass === STANDARD_TAX_CLASS ? undefined : place.classRates?.find((rate) => rate.taxClass === taxClass);
  return classRate
    ? { code, taxClass, ratePpm: classRate.ratePpm }
    : { code, taxClass: STANDARD_TAX_CLASS, ratePpm: place.ratePpm };
}

/**
 * The rates for an amount of `taxClass` shipped to `address`: the province's
 * rate if the region has one (after the country's when the province's is
 * combined), else the country's rate, else the region default. Without an
 * address (not entered yet) the region default applies, so a cart always
 * shows its tax. At each place the class's own rate applies, or the place's
 * standard rate when it lists none for the class. Codes compare
 * case-insensitively.
 */
export function resolveTaxRates(region: RegionTax, address: TaxAddress | undefined, taxClass: string): AppliedTaxRate[] {
  const country = address && region.countries.find((candidate) => sameCode(candidate.country, address.country));
  if (!country) {
    return [rateAt(region.defaults, "default", taxClass)];
  }
  const provinceName = address.province;
  const province =
    provinceName === undefined
      ? undefined
      : country.provinces?.find((candidate) => sameCode(candidate.province, provinceName));
  const countryCode = country.country.toUpperCase();
  const countryRate = rateAt(country, countryCode, taxClass);
  if (!province) {
    return [countryRate];
  }
  const provinceRate = rateAt(province, `${countryCode}-${province.province.toUpperCase()}`, taxClass);
  return province.combined ? [countryRate, provinceRate] : [provinceRate];
}

/**
 * The tax of each rate in an amount, each rounded half-even once.
 * Tax-exclusive: the amount is net and each tax is amount × rate (3 × 9.99 at
 * 10 % → 2997 × 100 000 / 1 000 000 = 299.7 → 300). Tax-inclusive: the amount
 * is gross, the net part is amount / (1 + Σ rates), and each tax is that net
 * part × its rate, amount × rate / (1 + Σ rates) (11.90 at 19 % → 1190 ×
 * 190 000 / 1 190 000 = 190).
 */
export function taxesOn(amount: bigint, ratesPpm: readonly number[], pricesIncludeTax: boolean): bigint[] {
  const gross = PPM_PER_WHOLE + (pricesIncludeTax ? ratesPpm.reduce((sum, rate) => sum + BigInt(rate), 0n) : 0n);
  const denominator = pricesIncludeTax ? gross : PPM_PER_WHOLE;
  return ratesPpm.map((rate) => divideHalfEven(amount * BigInt(rate), denominator));
}

/** A rate as a percentage, exactly, in decimal: 88750 → "8.875", 200000 → "20", 5 → "0.0005". */
export function ratePercent(ratePpm: number): string {
  const digits = String(ratePpm).padStart(5, "0");
  const fraction = digits.slice(-4).replace(/0+$/, "");
  return fraction === "" ? digits.slice(0, -4) : `${digits.slice(0, -4)}.${fraction}`;
}
