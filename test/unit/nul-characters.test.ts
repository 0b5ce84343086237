import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { FieldMaskSchema, StructSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import { ConnectError, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CreateCartRequestSchema } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { nulCharacterInterceptor } from "../../src/transport/interceptors/nul-characters.js";
import { violatedFields } from "../support/rpc-errors.js";

/** What the interceptor answers a unary request carrying `message`: "passed", or the refusal's message. */
async function answer<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Promise<string> {
  const next = async () => ({}) as UnaryResponse;
  const request = { stream: false, method: { input: schema }, message } as unknown as UnaryRequest;
  try {
    await nulCharacterInterceptor(next)(request);
    return "passed";
  } catch (error) {
    const refusal = ConnectError.from(error);
    return `${violatedFields(refusal).join()} | ${refusal.rawMessage}`;
  }
}

const nul = "must not contain the NUL character (U+0000) [string.no_nul]";

describe("NUL characters in requests", () => {
  it("finds one in nested messages, list items, map keys and map values", async () => {
    expect(await answer(CreateCartRequestSchema, create(CreateCartRequestSchema, { customerId: "c", shippingAddress: { city: "Ber\0lin" } }))).toBe(
      `shipping_address.city | shipping_address.city: ${nul}`,
    );
    expect(await answer(CreateCartRequestSchema, create(CreateCartRequestSchema, { customerId: "c", promoCodes: ["A", "B\0"] }))).toBe(
      `promo_codes | promo_codes[1]: ${nul}`,
    );
    // The key itself stays out of the message.
    expect(await answer(CreateCartRequestSchema, create(CreateCartRequestSchema, { customerId: "c", metadata: { "k\0": "v" } }))).toBe(
      `metadata | metadata: ${nul}`,
    );
    expect(await answer(CreateCartRequestSchema, create(CreateCartRequestSchema, { customerId: "c", metadata: { k: "v\0" } }))).toBe(
      `metadata | metadata["k"]: ${nul}`,
    );
    expect(await answer(FieldMaskSchema, create(FieldMaskSchema, { paths: ["email", "\0"] }))).toBe(`paths | paths[1]: ${nul}`);
  });

  it("finds one inside google.protobuf.Struct and Value, at any depth", async () => {
    const value = create(ValueSchema, {
      kind: {
        case: "structValue",
        value: create(StructSchema, {
          fields: { list: { kind: { case: "listValue", value: { values: [{ kind: { case: "stringValue", value: "a\0" } }] } } } },
        }),
      },
    });
    expect(await answer(ValueSchema, value)).toBe(
      `struct_value.fields.list_value.values.string_value | struct_value.fields["list"].list_value.values[0].string_value: ${nul}`,
    );
  });

  it("lets everything else through, other control characters and U+FFFD included", async () => {
    const request = create(CreateCartRequestSchema, { customerId: "c\u0001\t\uFFFD", metadata: { k: "\u007F" }, shippingAddress: { city: "" } });
    expect(await answer(CreateCartRequestSchema, request)).toBe("passed");
  });
});
