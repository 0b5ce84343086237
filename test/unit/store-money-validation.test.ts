import { describe, expect, it } from "vitest";
import { StoreError } from "../../src/transport/store/errors.js";
import { majorUnits } from "../../src/transport/store/money.js";
import { addLineItemBody, createCartBody, shippingMethodsBody, validate } from "../../src/transport/store/validation.js";

describe("money on the Store API", () => {
  it("writes major units from the exact minor units, never from float arithmetic", () => {
    expect(JSON.stringify({ total: majorUnits(3n * 1299n, "USD") })).toBe('{"total":38.97}');
    expect(3 * 1.1).not.toBe(3.3);
    expect(JSON.stringify({ total: majorUnits(3n * 110n, "USD") })).toBe('{"total":3.3}');
    expect(majorUnits(1n, "USD")).toBe(0.01);
    expect(majorUnits(0n, "EUR")).toBe(0);
    expect(majorUnits(-250n, "usd")).toBe(-2.5);
    expect(majorUnits(500n, "JPY")).toBe(500);
    expect(majorUnits(1234n, "KWD")).toBe(1.234);
    expect(majorUnits(99_999_999_999n, "USD")).toBe(999_999_999.99);
  });
});

function refusal(run: () => unknown): StoreError {
  try {
    run();
  } catch (error) {
    if (error instanceof StoreError) return error;
    throw error;
  }
  throw new Error("not refused");
}

// Medusa's wording of Zod issues (its zodValidator), the storefront shows `message`.
describe("Store API request validation", () => {
  it("names a missing field", () => {
    expect(refusal(() => validate(addLineItemBody, { quantity: 1 })).body).toEqual({
      type: "invalid_data",
      message: "Invalid request: Field 'variant_id' is required",
    });
  });

  it("names a value of the wrong type with what was sent", () => {
    expect(refusal(() => validate(addLineItemBody, { variant_id: "v", quantity: "abc" })).body.message).toBe(
      "Invalid request: Expected type: 'number' for field 'quantity', got: 'abc'",
    );
  });

  it("refuses a quantity that is too small, or not whole", () => {
    expect(refusal(() => validate(addLineItemBody, { variant_id: "v", quantity: 0 })).body.message).toBe(
      "Invalid request: Value for field 'quantity' too small, expected at least: '0'",
    );
    expect(refusal(() => validate(addLineItemBody, { variant_id: "v", quantity: 1.5 })).body.message).toBe(
      "Invalid request: Expected type: 'int' for field 'quantity', got: '1.5'",
    );
  });

  it("refuses unknown fields, nested ones with their path", () => {
    expect(refusal(() => validate(createCartBody, { foo: 1, bar: 2 })).body.message).toBe("Invalid request: Unrecognized fields: 'foo, bar'");
    expect(refusal(() => validate(createCartBody, { items: [{ variant_id: "v", quantity: -1 }] })).body.message).toBe(
      "Invalid request: Value for field 'items, 0, quantity' too small, expected at least: '0'",
    );
  });

  it("quotes at most 80 characters of what was sent", () => {
    const message = refusal(() => validate(addLineItemBody, { variant_id: "v", quantity: "x".repeat(10_000) })).body.message;
    expect(message).toBe(`Invalid request: Expected type: 'number' for field 'quantity', got: '${"x".repeat(80)}…'`);
    const keys = refusal(() => validate(addLineItemBody, Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`key${i}`, 1])))).body.message;
    expect(keys.length).toBeLessThan(400);
  });

  it("joins at most three issues", () => {
    const message = refusal(() => validate(createCartBody, { a: 1, email: "x", region_id: 3, currency_code: 4 })).body.message;
    expect(message.split("; ")).toHaveLength(3);
  });

  it("takes a shipping method as an object or a list of them", () => {
    expect(validate(shippingMethodsBody, { option_id: "so", extra: 1 })).toEqual({ option_id: "so" });
    expect(validate(shippingMethodsBody, [{ option_id: "a" }, { option_id: "b" }])).toHaveLength(2);
    expect(refusal(() => validate(shippingMethodsBody, {})).body.message).toBe("Invalid request: Field 'option_id' is required");
  });
});
