import { DomainError } from "./errors.js";

/**
 * ISO 4217 currencies the service accepts, grouped by minor-unit exponent
 * (amounts are in 10^-exponent of the unit: USD cents, JPY yen, KWD fils).
 * A currency missing here is refused rather than guessed, because a wrong
 * exponent would misprice every cart.
 */
const currenciesByExponent: Record<number, string> = {
  0: "CLP ISK JPY KRW UGX VND XAF XOF",
  2: "AED ARS AUD BGN BRL CAD CHF CNY COP CZK DKK EGP EUR GBP HKD HUF IDR ILS INR KES MXN MYR NGN NOK NZD PEN PHP PLN QAR RON SAR SEK SGD THB TRY TWD UAH USD ZAR",
  3: "BHD IQD JOD KWD LYD OMR TND",
};

const exponents: ReadonlyMap<string, number> = new Map(
  Object.entries(currenciesByExponent).flatMap(([exponent, codes]) =>
    codes.split(" ").map((code) => [code, Number(exponent)] as const),
  ),
);

/** The minor-unit exponent of a supported currency. */
export function currencyExponent(currency: string): number {
  const exponent = exponents.get(currency);
  if (exponent === undefined) {
    throw new DomainError("invalid_argument", `currency ${currency} is not supported`);
  }
  return exponent;
}
