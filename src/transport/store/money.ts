import { currencyExponent } from "../../domain/currency.js";

/**
 * An amount of integer minor units as the JSON number of major units the
 * Store API carries (1299n USD → 12.99, 500n JPY → 500). The number is parsed
 * from its exact decimal text, never computed by dividing, so it prints back
 * as exactly that text: 3 × 1299n = 3897n → 38.97, not 38.970000000000006.
 * Exact for every amount the service accepts (at most 10^11 minor units,
 * well inside a double's 15 significant digits).
 */
export function majorUnits(minorUnits: bigint, currency: string): number {
  const exponent = currencyExponent(currency.toUpperCase());
  const negative = minorUnits < 0n;
  const digits = (negative ? -minorUnits : minorUnits).toString().padStart(exponent + 1, "0");
  const units = digits.slice(0, digits.length - exponent);
  const fraction = exponent > 0 ? `.${digits.slice(digits.length - exponent)}` : "";
  return Number(`${negative ? "-" : ""}${units}${fraction}`);
}
