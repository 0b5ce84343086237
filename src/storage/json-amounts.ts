/**
 * Money inside jsonb travels as strings of minor units: JSON numbers lose
 * precision above 2^53. Objects are stored in their domain shape, and the
 * properties named below hold amounts (bigint in the domain, strings in the
 * database), wherever they occur in the structure.
 */
const amountKeys = new Set([
  "amount",
  "freeAbove",
  "subtotal",
  "discountTotal",
  "taxTotal",
  "total",
  "originalTotal",
  "itemSubtotal",
  "itemDiscountTotal",
  "itemTaxTotal",
  "itemTotal",
  "shippingSubtotal",
  "shippingDiscountTotal",
  "shippingTaxTotal",
  "shippingTotal",
  // Order lines.
  "unitPrice",
  "compareAtUnitPrice",
]);

/** Caller-given key/value maps: kept as they are, whatever their keys are called. */
const opaqueKeys = new Set(["metadata", "data"]);

/** JSON text for a jsonb parameter: bigints become strings, undefined properties vanish. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value, (_, property: unknown) => (typeof property === "bigint" ? property.toString() : property));
}

/** A parsed jsonb value with its amount properties turned back into bigints. */
export function withAmounts<T>(value: unknown): T {
  return revive(value) as T;
}

function revive(value: unknown, key?: string): unknown {
  if (key !== undefined && opaqueKeys.has(key)) return value;
  if (Array.isArray(value)) return value.map((item) => revive(item));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([name, property]) => [name, revive(property, name)]));
  }
  return key !== undefined && amountKeys.has(key) && typeof value === "string" ? BigInt(value) : value;
}
