import { z } from "zod";
import { StoreError } from "./errors.js";

/**
 * The request bodies and query strings of the Store API as Medusa 2.21
 * validates them (strict: unknown keys are refused), and its wording of the
 * refusals: "Invalid request: " and up to three issues joined by "; ".
 */

type Issue = z.core.$ZodIssue;

/** What a message quotes of the caller's input, at most; messages go into answers and log lines. */
const maxQuotedChars = 80;

function quoted(value: unknown): string {
  const text = String(value);
  return text.length > maxQuotedChars ? `${text.slice(0, maxQuotedChars)}…` : text;
}

function pathOf(issue: Pick<Issue, "path">): string {
  return issue.path.join(", ");
}

/** The value the caller sent at the issue's path, which tells a missing field from a wrong one. */
function sentValue(issue: Pick<Issue, "path">, input: unknown): unknown {
  let value = input;
  for (const segment of issue.path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment as PropertyKey];
  }
  return value;
}

function describeWrongType(issues: readonly Issue[], input: unknown): string | undefined {
  const wrong = issues.filter((issue) => issue.code === "invalid_type" && sentValue(issue, input) !== undefined);
  if (wrong.length === 0) return undefined;
  const expected = wrong.map((issue) => (issue as z.core.$ZodIssueInvalidType).expected).join(", ");
  return `Expected type: '${expected}' for field '${pathOf(wrong[0]!)}', got: '${quoted(sentValue(wrong[0]!, input))}'`;
}

function describeMissing(issues: readonly Issue[], input: unknown): string | undefined {
  const missing = issues.find((issue) => (issue.code === "invalid_type" || issue.code === "invalid_value") && sentValue(issue, input) === undefined);
  return missing && `Field '${pathOf(missing)}' is required`;
}

function describe(issue: Issue, input: unknown): string {
  switch (issue.code) {
    case "invalid_type":
      return describeWrongType([issue], input) ?? describeMissing([issue], input) ?? issue.message;
    case "invalid_value": {
      const sent = sentValue(issue, input);
      if (sent === undefined) return `Field '${pathOf(issue)}' is required`;
      return `Expected: '${issue.values.join(", ")}' for field '${pathOf(issue)}', but got: '${quoted(sent)}'`;
    }
    case "invalid_union": {
      const inner = issue.errors.flat().map((nested) => ({ ...nested, path: [...issue.path, ...nested.path] }) as Issue);
      // A missing field of one alternative says more than "not the other alternative".
      return describeMissing(inner, input) ?? describeWrongType(inner, input) ?? issue.message;
    }
    case "unrecognized_keys":
      return `Unrecognized fields: '${quoted(issue.keys.join(", "))}'`;
    case "too_small":
      return `Value for field '${pathOf(issue)}' too small, expected at least: '${String(issue.minimum)}'`;
    case "too_big":
      return `Value for field '${pathOf(issue)}' too big, expected at most: '${String(issue.maximum)}'`;
    default:
      return issue.message;
  }
}

/** The input as `schema` reads it, or Medusa's 400 invalid_data naming what is wrong. */
export function validate<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const messages = result.error.issues.slice(0, 3).map((issue) => describe(issue, input));
  throw StoreError.invalidData(`Invalid request: ${messages.join("; ")}`);
}

const metadata = z.record(z.string(), z.unknown());

const addressFields = {
  first_name: z.string().nullish(),
  last_name: z.string().nullish(),
  phone: z.string().nullish(),
  company: z.string().nullish(),
  address_1: z.string().nullish(),
  address_2: z.string().nullish(),
  city: z.string().nullish(),
  country_code: z.string().nullish(),
  province: z.string().nullish(),
  postal_code: z.string().nullish(),
  metadata: metadata.nullish(),
};
const address = z.strictObject(addressFields);
const upsertAddress = z.strictObject({ ...addressFields, id: z.string().optional() });
export type AddressBody = z.infer<typeof address>;

/** Whole units only: a line holds a count of things (Medusa's next version says the same). */
const quantity = z.number().int();

const lineItem = z.strictObject({
  variant_id: z.string(),
  quantity: quantity.gt(0),
  metadata: metadata.nullish(),
});

export const createCartBody = z.strictObject({
  region_id: z.string().nullish(),
  shipping_address: z.union([address, z.string()]).optional(),
  billing_address: z.union([address, z.string()]).optional(),
  email: z.email().nullish(),
  currency_code: z.string().nullish(),
  items: z.array(lineItem).optional(),
  sales_channel_id: z.string().nullish(),
  promo_codes: z.array(z.string()).optional(),
  metadata: metadata.nullish(),
  locale: z.string().nullish(),
  additional_data: metadata.nullish(),
});

export const updateCartBody = z.strictObject({
  region_id: z.string().optional(),
  email: z.email().nullish(),
  billing_address: upsertAddress.optional(),
  shipping_address: upsertAddress.optional(),
  sales_channel_id: z.string().nullish(),
  metadata: metadata.nullish(),
  promo_codes: z.array(z.string()).optional(),
  locale: z.string().nullish(),
  additional_data: metadata.nullish(),
});

export const addLineItemBody = lineItem;

export const updateLineItemBody = z.strictObject({
  quantity: quantity.gte(0),
  metadata: metadata.nullish(),
});

export const promotionsBody = z.strictObject({ promo_codes: z.array(z.string()) });

/** One option or several; unknown keys are dropped here, not refused (Medusa's union is not strict). */
const shippingMethod = z.object({ option_id: z.string(), data: metadata.optional() });
export const shippingMethodsBody = z.union([shippingMethod, z.array(shippingMethod)]);

export const emptyBody = z.strictObject({});

export const paymentCollectionBody = z.strictObject({ cart_id: z.string() });

export const paymentSessionBody = z.strictObject({ provider_id: z.string(), data: metadata.optional() });

/** A query string value as Medusa's validators coerce it. */
const count = z.coerce.number().int().gte(0);

export const fieldsQuery = z.strictObject({ fields: z.string().optional() });

export const shippingOptionsQuery = z.strictObject({
  cart_id: z.string(),
  is_return: z.enum(["true", "false"]).optional(),
  fields: z.string().optional(),
  limit: count.optional(),
  offset: count.optional(),
  order: z.string().optional(),
  with_deleted: z.enum(["true", "false"]).optional(),
});

export const paymentProvidersQuery = z.strictObject({
  region_id: z.string(),
  fields: z.string().optional(),
  limit: count.default(20),
  offset: count.default(0),
  order: z.string().optional(),
});

export const regionsQuery = z.strictObject({
  q: z.string().optional(),
  id: z.union([z.string(), z.array(z.string())]).optional(),
  currency_code: z.union([z.string(), z.array(z.string())]).optional(),
  name: z.union([z.string(), z.array(z.string())]).optional(),
  fields: z.string().optional(),
  limit: count.default(50),
  offset: count.default(0),
  order: z.string().optional(),
});
