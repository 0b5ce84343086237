import { currencyExponent } from "./currency.js";

/**
 * Exact integer arithmetic on money. Amounts are bigint minor units of one
 * currency (USD cents, JPY yen, KWD fils); promotion percentages are integer
 * basis points (1 bp = 0.01 %), tax rates integer parts per million (1 ppm =
 * 0.0001 %). Nothing here uses floating point, so every result is an amount a
 * card processor can charge.
 */

/** 100 % in basis points. */
export const BASIS_POINTS_PER_WHOLE = 10_000n;

/** 100 % in parts per million. */
export const PPM_PER_WHOLE = 1_000_000n;

function absolute(value: bigint): bigint {
  return value < 0n ? -value : value;
}

/**
 * numerator / denominator rounded to the nearest integer, ties to the even
 * neighbour (banker's rounding): 2.5 → 2, 3.5 → 4, −2.5 → −2. Half-even has no
 * upward bias, so many rounded amounts do not drift from their exact sum.
 */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) {
    throw new RangeError("division by zero");
  }
  const dividend = absolute(numerator);
  const divisor = absolute(denominator);
  const floor = dividend / divisor;
  const twiceRemainder = (dividend % divisor) * 2n;
  const roundsUp = twiceRemainder > divisor || (twiceRemainder === divisor && floor % 2n === 1n);
  const magnitude = roundsUp ? floor + 1n : floor;
  return numerator < 0n !== denominator < 0n ? -magnitude : magnitude;
}

/** `basisPoints` of `amount`, rounded half-even: 10 % (1000 bp) of 2997 is 300. */
export function basisPointsOf(amount: bigint, basisPoints: number): bigint {
  return divideHalfEven(amount * BigInt(basisPoints), BASIS_POINTS_PER_WHOLE);
}

export function sumAmounts(amounts: Iterable<bigint>): bigint {
  let sum = 0n;
  for (const amount of amounts) {
    sum += amount;
  }
  return sum;
}

export function minAmount(first: bigint, second: bigint): bigint {
  return first < second ? first : second;
}

/**
 * Splits `total` into integer parts proportional to `weights` that add up to
 * exactly `total` (largest-remainder method): each part starts as the floor
 * of its exact share total × weight / Σ weights, and the units still missing
 * go one each to the parts with the largest remainders; equal remainders
 * favour the earlier part. So each part is within one unit of its exact
 * share, a zero weight gets nothing, and when total ≤ Σ weights no part
 * exceeds its weight.
 *
 * total and weights must be ≥ 0; weights may all be 0 only when total is 0.
 */
export function allocateLargestRemainder(total: bigint, weights: readonly bigint[]): bigint[] {
  if (total < 0n || weights.some((weight) => weight < 0n)) {
    throw new RangeError("allocation needs a non-negative total and non-negative weights");
  }
  const weightSum = sumAmounts(weights);
  if (weightSum === 0n) {
    if (total !== 0n) {
      throw new RangeError(`cannot allocate ${total} across weights that are all zero`);
    }
    return weights.map(() => 0n);
  }
  const parts = weights.map((weight) => (total * weight) / weightSum);
  // Remainders share the denominator weightSum, so their numerators compare directly.
  const remainders = weights.map((weight) => (total * weight) % weightSum);
  let missing = total - sumAmounts(parts);
  const byRemainder = weights
    .map((_, index) => index)
    .sort((a, b) => {
      const difference = remainders[b]! - remainders[a]!;
      return difference === 0n ? a - b : difference > 0n ? 1 : -1;
    });
  for (const index of byRemainder) {
    if (missing === 0n) {
      break;
    }
    parts[index]! += 1n;
    missing -= 1n;
  }
  return parts;
}

/** An amount in major units for messages, honouring the currency's exponent: 5000n USD → "50.00 USD", 500n JPY → "500 JPY". */
export function formatAmount(amount: bigint, currency: string): string {
  const exponent = currencyExponent(currency);
  const digits = absolute(amount).toString().padStart(exponent + 1, "0");
  const units = digits.slice(0, digits.length - exponent);
  const fraction = exponent > 0 ? `.${digits.slice(digits.length - exponent)}` : "";
  return `${amount < 0n ? "-" : ""}${units}${fraction} ${currency}`;
}
