import { create, toJson } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CartSchema } from "../../gen/commerce/cart/v1/cart_pb.js";
import { ReadMask } from "../../src/service/read-mask.js";
import { violatedFields } from "../support/rpc-errors.js";

const line = (id: string, productId: string) => ({
  id,
  cartId: "c1",
  productId,
  title: `Title of ${productId}`,
  quantity: 2,
  unitPriceCents: 500n,
  subtotalCents: 1000n,
  totals: { subtotal: 1000n, total: 1000n },
});

/** A cart with every kind of field set: scalars, a map, messages, repeated messages, a timestamp. */
const fullCart = () =>
  create(CartSchema, {
    id: "c1",
    customerId: "alice",
    status: 1,
    currency: "USD",
    items: [line("l1", "mug"), line("l2", "tee")],
    subtotalCents: 2000n,
    totalCents: 2000n,
    email: "alice@example.com",
    metadata: { channel: "web" },
    etag: "3",
    itemQuantity: 4,
    createdAt: timestampFromDate(new Date("2030-01-01T00:00:00Z")),
    expireTime: timestampFromDate(new Date("2030-01-31T00:00:00Z")),
    shippingAddress: { country: "DE", city: "Berlin" },
    promoCodes: ["WELCOME10"],
    totals: { itemSubtotal: 2000n, subtotal: 2000n, total: 2000n },
  });

/** The masked cart as proto JSON without defaults: exactly the fields that are set. */
function masked(...paths: string[]) {
  const mask = ReadMask.parse(CartSchema, { $typeName: "google.protobuf.FieldMask", paths });
  return toJson(CartSchema, mask.apply(fullCart()), { useProtoFieldName: true });
}

function refusal(...paths: string[]): ConnectError {
  try {
    ReadMask.parse(CartSchema, { $typeName: "google.protobuf.FieldMask", paths });
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectError);
    return error as ConnectError;
  }
  throw new Error(`${paths.join(",")} was accepted`);
}

describe("ReadMask", () => {
  it("keeps everything when unset, empty or *", () => {
    const everything = toJson(CartSchema, fullCart(), { useProtoFieldName: true });
    expect(masked()).toEqual(everything);
    expect(masked("*")).toEqual(everything);
    expect(masked("id", "*")).toEqual(everything);
    expect(toJson(CartSchema, ReadMask.parse(CartSchema, undefined).apply(fullCart()))).toEqual(toJson(CartSchema, fullCart()));
  });

  it("keeps only the named top-level fields", () => {
    expect(masked("id", "total_cents", "metadata", "expire_time")).toEqual({
      id: "c1",
      total_cents: "2000",
      metadata: { channel: "web" },
      expire_time: "2030-01-31T00:00:00Z",
    });
  });

  it("applies a sub-mask to every element of a repeated message field", () => {
    expect(masked("id", "items.product_id", "items.quantity")).toEqual({
      id: "c1",
      items: [
        { product_id: "mug", quantity: 2 },
        { product_id: "tee", quantity: 2 },
      ],
    });
  });

  it("selects inside singular message fields, and leaves unset ones unset", () => {
    expect(masked("totals.total", "shipping_address.country", "billing_address.city", "items.totals.total")).toEqual({
      totals: { total: "2000" },
      shipping_address: { country: "DE" },
      items: [{ totals: { total: "1000" } }, { totals: { total: "1000" } }],
    });
  });

  it("lets a whole field win over a path inside it, in either order, and reads a trailing * as the whole field", () => {
    const wholeItems = { items: (toJson(CartSchema, fullCart(), { useProtoFieldName: true }) as { items: unknown }).items };
    expect(masked("items.product_id", "items")).toEqual(wholeItems);
    expect(masked("items", "items.product_id")).toEqual(wholeItems);
    expect(masked("items.*")).toEqual(wholeItems);
  });

  it("refuses unknown paths with INVALID_ARGUMENT naming each of them, as a violation of read_mask", () => {
    const error = refusal("id", "nope", "items.nope", "totalCents", "", "items.*.id");
    expect(error.code).toBe(Code.InvalidArgument);
    expect(violatedFields(error)).toEqual(["read_mask"]);
    for (const path of ["nope", "items.nope", "totalCents", "", "items.*.id"]) {
      expect(error.rawMessage).toContain(JSON.stringify(path));
    }
    expect(error.rawMessage).not.toContain('"id"');
    expect(refusal("x").rawMessage).toBe('read_mask: unknown field path "x" in commerce.cart.v1.Cart');
  });

  it("names only the first five unknown paths, each cut at 64 characters, and how many more", () => {
    const long = "n".repeat(300);
    const error = refusal(long, "email.domain", "metadata.channel", "a", "b", "c", "d");
    expect(error.rawMessage).toBe(
      `read_mask: unknown field paths "${"n".repeat(64)}…", "email.domain", "metadata.channel", "a", "b" and 2 more in commerce.cart.v1.Cart`,
    );
  });

  it("says which top-level fields it keeps anything of", () => {
    const parse = (...paths: string[]) => ReadMask.parse(CartSchema, { $typeName: "google.protobuf.FieldMask", paths });
    expect(parse("id", "email").selectsAny(["items", "totals"])).toBe(false);
    expect(parse("id", "items.product_id").selectsAny(["items", "totals"])).toBe(true);
    expect(parse("totals.total").selectsAny(["items", "totals"])).toBe(true);
    expect(parse().selectsAny(["items"])).toBe(true);
    expect(parse("*").selectsAny(["items"])).toBe(true);
  });
});
