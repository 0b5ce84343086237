import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createValidator } from "@bufbuild/protovalidate";
import { Code, ConnectError } from "@connectrpc/connect";
import { createValidateInterceptor } from "@connectrpc/validate";
import { describe, expect, it } from "vitest";
import { errorBody, HttpStatusError, httpStatusOf, responseJson } from "../../src/transport/rest/response.js";
import { httpBindings } from "../../src/transport/rest/routes.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { CartService, CreateCartRequestSchema, CreateCartResponseSchema } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CartStatus } from "../../gen/commerce/cart/v1/cart_pb.js";
import { thingMethod } from "../support/rest-things.js";

/** The error the validate interceptor raises for this CreateCart request. */
async function validationError(request: Parameters<typeof create<typeof CreateCartRequestSchema>>[1]): Promise<ConnectError> {
  const interceptor = createValidateInterceptor({ validator: createValidator() });
  const call = interceptor(async () => {
    throw new Error("the request was valid");
  });
  try {
    await call({
      stream: false,
      method: CartService.method.createCart,
      message: create(CreateCartRequestSchema, request),
    } as never);
  } catch (error) {
    return error as ConnectError;
  }
  throw new Error("unreachable");
}

describe("errorBody", () => {
  it("renders field violations readably, with paths into lists and maps", async () => {
    const error = await validationError({
      customerId: "",
      items: [{ productId: "ok", quantity: 1 }, { productId: "bad id!", quantity: 0 }],
      metadata: { ["k".repeat(41)]: "v" },
    });
    const body = errorBody(error);
    expect(body.error).toBe("invalid_argument");
    expect(body.message).toContain("customer_id");
    expect(body.details).toEqual(
      expect.arrayContaining([
        { field: "customer_id", rule: "string.min_len", message: "must be at least 1 characters" },
        { field: "items[1].product_id", rule: "string.pattern", message: expect.stringContaining("does not match regex pattern") },
        { field: "items[1].quantity", rule: "int32.gt_lte", message: expect.stringContaining("must be greater than 0") },
        { field: `metadata["${"k".repeat(41)}"]`, rule: "string.max_len", message: expect.stringContaining("at most 40"), for_key: true },
      ]),
    );
    expect(body.details).toHaveLength(4);
  });

  it("renders other details as google.protobuf.Any JSON", () => {
    const info = create(ErrorInfoSchema, { reason: "CONFLICT", domain: "cart.commerce", metadata: { etag: "7" } });
    const error = new ConnectError("cart changed", Code.Aborted, undefined, [{ desc: ErrorInfoSchema, value: info }]);
    expect(errorBody(error)).toEqual({
      error: "aborted",
      message: "cart changed",
      details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "CONFLICT", domain: "cart.commerce", metadata: { etag: "7" } }],
    });
  });

  it("has empty details when there are none", () => {
    expect(errorBody(new ConnectError("no such cart", Code.NotFound))).toEqual({ error: "not_found", message: "no such cart", details: [] });
  });
});

describe("httpStatusOf", () => {
  it.each([
    [Code.InvalidArgument, 400],
    [Code.FailedPrecondition, 400],
    [Code.OutOfRange, 400],
    [Code.Unauthenticated, 401],
    [Code.PermissionDenied, 403],
    [Code.NotFound, 404],
    [Code.AlreadyExists, 409],
    [Code.Aborted, 409],
    [Code.ResourceExhausted, 429],
    [Code.Canceled, 499],
    [Code.Unknown, 500],
    [Code.Internal, 500],
    [Code.DataLoss, 500],
    [Code.Unimplemented, 501],
    [Code.Unavailable, 503],
    [Code.DeadlineExceeded, 504],
  ])("maps gRPC code %s to %s", (code, status) => {
    expect(httpStatusOf(new ConnectError("x", code))).toBe(status);
  });

  it("keeps the status the HTTP layer chose", () => {
    expect(httpStatusOf(new HttpStatusError(413, "too large", Code.ResourceExhausted))).toBe(413);
  });
});

describe("responseJson", () => {
  it("sends the response_body field with proto names, int64 as strings and every field present", () => {
    const [binding] = httpBindings(CartService.method.createCart);
    const at = timestampFromDate(new Date("2024-01-02T03:04:05Z"));
    const response = create(CreateCartResponseSchema, {
      cart: { id: "c1", customerId: "alice", status: CartStatus.ACTIVE, currency: "USD", totalCents: 0n, createdAt: at, updatedAt: at },
    });
    // toMatchObject: Cart may grow fields; these must be present with their zero values.
    expect(responseJson(binding!, create(CreateCartRequestSchema), response)).toMatchObject({
      id: "c1",
      customer_id: "alice",
      status: "CART_STATUS_ACTIVE",
      currency: "USD",
      items: [],
      subtotal_cents: "0",
      total_cents: "0",
      email: "",
      metadata: {},
      etag: "",
      item_quantity: 0,
      created_at: "2024-01-02T03:04:05Z",
      updated_at: "2024-01-02T03:04:05Z",
    });
  });

  it("sends the whole response without response_body, and null for an unset response_body message", () => {
    const [list] = httpBindings(thingMethod("ListThings"));
    const [update] = httpBindings(thingMethod("UpdateThing"));
    const thing = create(list!.method.output, { id: "t1", big: 5n });
    expect(responseJson(list!, thing, thing)).toMatchObject({ id: "t1", big: "5", tags: [], display_name: "" });
    expect(responseJson(update!, thing, thing)).toBeNull();
  });
});
