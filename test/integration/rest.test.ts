import { readFileSync } from "node:fs";
import http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { compileErrors, validate } from "@readme/openapi-parser";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiPathOf } from "../../src/transport/rest/openapi.js";
import { httpBindings } from "../../src/transport/rest/routes.js";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { adminToken } from "../support/auth.js";
import { grpcJsClient } from "../support/grpc-js-client.js";
import { type RestAnswer, restCall } from "../support/rest-client.js";
import { startServer, type TestServer } from "../support/server.js";

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(() => server?.stop());

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
type Json = any;

const rest = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  restCall(server.baseUrl, method, path, body, headers);

function grpcMetadata(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${adminToken}`);
  return metadata;
}

const contract = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/contracts/${name}`, import.meta.url), "utf8")) as object;
const ajv = new Ajv2020({ allErrors: true, strict: true });
const meetsCreated = ajv.compile(contract("commerce-create-cart.response-201.schema.json"));
const meetsBadRequest = ajv.compile(contract("commerce-create-cart.error-400.schema.json"));
const meetsRequest = ajv.compile(contract("commerce-create-cart.request.schema.json"));

/** The error body every failed call has: `{"error", "message", "details"}`. */
function expectError(response: RestAnswer, status: number, error: string, message?: string | RegExp) {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.body).toEqual({ error, message: expect.any(String), details: expect.any(Array) });
  if (message) expect(response.body.message).toMatch(message);
}

async function putProduct(id: string, prices: { currency: string; amount_cents: string }[], active = true) {
  const response = await rest("PUT", `/v1/products/${id}`, { title: `Product ${id}`, active, prices });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

async function createCart(body: object): Promise<Json> {
  const response = await rest("POST", "/v1/carts", body);
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

describe("the POST /v1/carts reference contract", () => {
  it("answers 201 with the cart, exactly as the contract's schema says", async () => {
    await putProduct("rest-contract-mug", [{ currency: "USD", amount_cents: "1299" }]);
    const request = { customer_id: "rest-contract", items: [{ product_id: "rest-contract-mug", quantity: 2 }] };
    expect(meetsRequest(request)).toBe(true);
    const response = await rest("POST", "/v1/carts", request);
    expect(response.status).toBe(201);
    expect(meetsCreated(response.body), ajv.errorsText(meetsCreated.errors)).toBe(true);
    expect(response.body).toMatchObject({
      customer_id: "rest-contract",
      status: "CART_STATUS_ACTIVE",
      currency: "USD",
      total_cents: "2598",
      items: [{ product_id: "rest-contract-mug", quantity: 2, unit_price_cents: "1299", cart_id: response.body.id }],
    });
    expect(new Date(response.body.created_at).toISOString()).toBe(response.body.created_at);
  });

  it("answers 201 for an empty cart too: empty items and a zero total are present", async () => {
    const response = await rest("POST", "/v1/carts", { customer_id: "rest-contract-empty" });
    expect(response.status).toBe(201);
    expect(meetsCreated(response.body), ajv.errorsText(meetsCreated.errors)).toBe(true);
    expect(response.body).toMatchObject({ items: [], total_cents: "0" });
  });

  it.each([
    ["an empty customer_id", { customer_id: "" }, "customer_id", "string.min_len"],
    ["no customer_id", {}, "customer_id", "string.min_len"],
    ["a bad item", { customer_id: "c", items: [{ product_id: "ok", quantity: 0 }] }, "items[0].quantity", "int32.gt_lte"],
    ["a bad currency", { customer_id: "c", currency: "usd" }, "currency", "string.pattern"],
  ])("answers 400 with field violations for %s", async (_name, body, field, rule) => {
    const response = await rest("POST", "/v1/carts", body);
    expectError(response, 400, "invalid_argument", field);
    expect(meetsBadRequest(response.body), ajv.errorsText(meetsBadRequest.errors)).toBe(true);
    expect(response.body.details).toContainEqual({ field, rule, message: expect.any(String) });
  });

  it.each([
    ["an unknown field, naming it", '{"customer_id":"c","customer":"x"}', /key "customer" is unknown/],
    ["malformed JSON", '{"customer_id":', /not valid JSON/],
    ["a JSON array", "[]", /invalid request body/],
    ["a wrongly typed field", '{"customer_id":7}', /customer_id/],
  ])("answers 400, never 500, for %s", async (_name, body, message) => {
    const response = await rest("POST", "/v1/carts", body);
    expectError(response, 400, "invalid_argument", message);
    expect(meetsBadRequest(response.body)).toBe(true);
  });

  it("accepts JSON (lowerCamelCase) names as well as proto names", async () => {
    const cart = await createCart({ customerId: "rest-camel", items: [] });
    expect(cart.customer_id).toBe("rest-camel");
  });

  it("refuses a body that is not JSON with 415", async () => {
    const response = await rest("POST", "/v1/carts", "customer_id=c", { "content-type": "application/x-www-form-urlencoded" });
    expectError(response, 415, "invalid_argument", /must be JSON/);
  });

  it("refuses a body over READ_MAX_BYTES with 413, in the error shape", async () => {
    const response = await rest("POST", "/v1/carts", JSON.stringify({ customer_id: "x".repeat(1024 * 1024 + 1) }));
    expectError(response, 413, "resource_exhausted", /exceeds the limit/);
  });
});

describe("CartService over REST", () => {
  let cart: Json;

  beforeAll(async () => {
    await putProduct("rest-mug", [{ currency: "USD", amount_cents: "700" }]);
    await putProduct("rest-tee", [{ currency: "USD", amount_cents: "2500" }]);
    cart = await createCart({ customer_id: "rest-cart-flow" });
  });

  it("GET /v1/carts/{id} reads a cart; a bad id is 400, a missing one 404", async () => {
    const read = await rest("GET", `/v1/carts/${cart.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(cart);
    expect((await rest("GET", `/v1/carts/${cart.id}/`)).body).toEqual(cart); // a trailing slash is ignored
    expectError(await rest("GET", "/v1/carts/not-a-uuid"), 400, "invalid_argument", /id/);
    expectError(await rest("GET", "/v1/carts/0190a000-0000-7000-8000-000000000000"), 404, "not_found");
  });

  it("percent-decodes path variables", async () => {
    const encoded = [...cart.id].map((char: string) => `%${char.charCodeAt(0).toString(16)}`).join("");
    expect((await rest("GET", `/v1/carts/${encoded}`)).body.id).toBe(cart.id);
  });

  it("POST /v1/carts/{cart_id}/items adds and merges lines (200: not a Create method)", async () => {
    const first = await rest("POST", `/v1/carts/${cart.id}/items`, { product_id: "rest-mug", quantity: 2 });
    expect(first.status).toBe(200);
    const merged = await rest("POST", `/v1/carts/${cart.id}/items`, { product_id: "rest-mug", quantity: 1 });
    expect(merged.body.items).toEqual([expect.objectContaining({ product_id: "rest-mug", quantity: 3, unit_price_cents: "700", subtotal_cents: "2100" })]);
    const two = await rest("POST", `/v1/carts/${cart.id}/items`, { product_id: "rest-tee", quantity: 1 });
    expect(two.body.subtotal_cents).toBe("4600");
  });

  it("POST /v1/carts/{cart_id}/items refuses unknown products (404) and bad quantities (400)", async () => {
    const unknown = await rest("POST", `/v1/carts/${cart.id}/items`, { product_id: "rest-nope", quantity: 1 });
    expectError(unknown, 404, "not_found", /rest-nope/);
    const bad = await rest("POST", `/v1/carts/${cart.id}/items`, { product_id: "rest-mug", quantity: -1 });
    expectError(bad, 400, "invalid_argument");
    expect(bad.body.details).toContainEqual({ field: "quantity", rule: "int32.gt_lte", message: expect.any(String) });
  });

  it("a field given in the path and the body must agree", async () => {
    const other = await rest("POST", `/v1/carts/${cart.id}/items`, { cart_id: "0190a000-0000-7000-8000-000000000000", product_id: "rest-mug", quantity: 1 });
    expectError(other, 400, "invalid_argument", /"cart_id" is given both in the URL path and in the request body/);
    const same = await rest("PATCH", `/v1/carts/${cart.id}?update_mask=email`, { id: cart.id, email: "same@example.com" });
    expect(same.status).toBe(200);
  });

  it("PATCH /v1/carts/{id}/items/{item_id} sets a quantity; DELETE removes the line", async () => {
    const { body: current } = await rest("GET", `/v1/carts/${cart.id}`);
    const mug = current.items.find((item: Json) => item.product_id === "rest-mug");
    const tee = current.items.find((item: Json) => item.product_id === "rest-tee");
    const updated = await rest("PATCH", `/v1/carts/${cart.id}/items/${mug.id}`, { quantity: 5 });
    expect(updated.status).toBe(200);
    expect(updated.body.items.find((item: Json) => item.id === mug.id).quantity).toBe(5);
    const removed = await rest("DELETE", `/v1/carts/${cart.id}/items/${tee.id}`);
    expect(removed.status).toBe(200);
    expect(removed.body.items.map((item: Json) => item.product_id)).toEqual(["rest-mug"]);
    expectError(await rest("DELETE", `/v1/carts/${cart.id}/items/${tee.id}`), 404, "not_found");
    expectError(await rest("PATCH", `/v1/carts/${cart.id}/items/not-a-uuid`, { quantity: 1 }), 400, "invalid_argument", /item_id/);
  });

  it("PATCH /v1/carts/{cart.id} changes the fields of update_mask", async () => {
    const updated = await rest("PATCH", `/v1/carts/${cart.id}?update_mask=email,metadata`, {
      email: "rest@example.com",
      metadata: { channel: "rest" },
      currency: "EUR", // not in the mask: ignored
    });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body).toMatchObject({ email: "rest@example.com", metadata: { channel: "rest" }, currency: "USD" });
    expectError(await rest("PATCH", `/v1/carts/${cart.id}`, { email: "x@example.com" }), 400, "invalid_argument", /update_mask/);
    expectError(await rest("PATCH", `/v1/carts/${cart.id}?update_mask=email`, { email: "not-an-email" }), 400, "invalid_argument", /email/);
    expectError(await rest("PATCH", `/v1/carts/${cart.id}?update_mask=email&bogus=1`, {}), 400, "invalid_argument", /unknown query parameter "bogus"/);
  });

  it("GET /v1/carts lists by query parameters, page by page", async () => {
    const customer = "rest-list";
    const created = [];
    for (let i = 0; i < 3; i++) created.push(await createCart({ customer_id: customer }));
    const first = await rest("GET", `/v1/carts?customer_id=${customer}&status=CART_STATUS_ACTIVE&page_size=2`);
    expect(first.status).toBe(200);
    expect(first.body.carts).toHaveLength(2);
    expect(first.body.next_page_token).not.toBe("");
    const second = await rest("GET", `/v1/carts?customer_id=${customer}&status=CART_STATUS_ACTIVE&page_size=2&page_token=${encodeURIComponent(first.body.next_page_token)}`);
    expect(second.body).toMatchObject({ next_page_token: "" });
    const ids = [...first.body.carts, ...second.body.carts].map((listed: Json) => listed.id);
    expect(ids.sort()).toEqual(created.map((listed) => listed.id).sort());
    expect((await rest("GET", `/v1/carts?customerId=${customer}&status=2`)).body.carts).toEqual([]); // JSON name; status by number
    expectError(await rest("GET", "/v1/carts?status=CART_STATUS_NOPE"), 400, "invalid_argument", /query parameter "status"/);
    expectError(await rest("GET", "/v1/carts?page_size=-1"), 400, "invalid_argument", /page_size/);
    expectError(await rest("GET", "/v1/carts?color=red"), 400, "invalid_argument", /unknown query parameter "color"/);
    expectError(await rest("GET", "/v1/carts?page_size=1&page_size=2"), 400, "invalid_argument", /given 2 times/);
  });

  it("DELETE /v1/carts/{id} marks the cart deleted; it then refuses changes (400 failed_precondition)", async () => {
    const doomed = await createCart({ customer_id: "rest-delete" });
    const deleted = await rest("DELETE", `/v1/carts/${doomed.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ id: doomed.id, status: "CART_STATUS_DELETED" });
    const refused = await rest("POST", `/v1/carts/${doomed.id}/items`, { product_id: "rest-mug", quantity: 1 });
    expectError(refused, 400, "failed_precondition", /deleted/);
    expect(refused.body.details).toContainEqual(expect.objectContaining({ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "FAILED_PRECONDITION" }));
    expectError(await rest("DELETE", `/v1/carts/${doomed.id}`, "{}"), 400, "invalid_argument", /takes no request body/);
  });
});

describe("CatalogService over REST", () => {
  it("PUT /v1/products/{product.id} creates and replaces; GET reads it back", async () => {
    const created = await putProduct("rest-poster", [{ currency: "USD", amount_cents: "1800" }]);
    expect(created).toMatchObject({ id: "rest-poster", title: "Product rest-poster", active: true, prices: [{ currency: "USD", amount_cents: "1800" }] });
    const replaced = await putProduct("rest-poster", [{ currency: "EUR", amount_cents: "1700" }], false);
    expect(replaced).toMatchObject({ active: false, prices: [{ currency: "EUR", amount_cents: "1700" }] });
    const read = await rest("GET", "/v1/products/rest-poster");
    expect(read.status).toBe(200);
    expect(read.body).toEqual(replaced);
  });

  it("PUT refuses invalid products with violations, and an id differing from the path", async () => {
    const invalid = await rest("PUT", "/v1/products/rest-bad", { title: "", prices: [{ currency: "usd", amount_cents: "-1" }] });
    expectError(invalid, 400, "invalid_argument");
    expect(invalid.body.details.map((detail: Json) => detail.field).sort()).toEqual(["product.prices[0].amount_cents", "product.prices[0].currency", "product.title"]);
    const conflicting = await rest("PUT", "/v1/products/rest-a", { id: "rest-b", title: "T" });
    expectError(conflicting, 400, "invalid_argument", /"product.id" is given both/);
    expectError(await rest("PUT", "/v1/products/bad%20id", { title: "T" }), 400, "invalid_argument", /product.id/);
  });

  it("GET /v1/products/{id} answers 404 for a missing product", async () => {
    expectError(await rest("GET", "/v1/products/rest-missing"), 404, "not_found", /rest-missing/);
  });

  it("GET /v1/products pages through the catalog", async () => {
    const first = await rest("GET", "/v1/products?page_size=1");
    expect(first.status).toBe(200);
    expect(first.body.products).toHaveLength(1);
    const second = await rest("GET", `/v1/products?page_size=1&page_token=${encodeURIComponent(first.body.next_page_token)}`);
    expect(second.body.products[0].id > first.body.products[0].id).toBe(true);
    expectError(await rest("GET", "/v1/products?page_size=x"), 400, "invalid_argument", /page_size/);
  });
});

describe("REST and gRPC see the same data", () => {
  it("what REST writes, @grpc/grpc-js reads", async () => {
    await putProduct("rest-grpc-mug", [{ currency: "USD", amount_cents: "999" }]);
    const cart = await createCart({ customer_id: "rest-to-grpc", items: [{ product_id: "rest-grpc-mug", quantity: 3 }], metadata: { via: "rest" } });
    const carts = grpcJsClient("CartService", server.port);
    const catalog = grpcJsClient("CatalogService", server.port);
    try {
      const { cart: read } = await carts.GetCart({ id: cart.id }, grpcMetadata());
      expect(read).toMatchObject({
        id: cart.id,
        customer_id: "rest-to-grpc",
        status: "CART_STATUS_ACTIVE",
        total_cents: cart.total_cents,
        etag: cart.etag,
        metadata: { via: "rest" },
      });
      expect(read.items.map((item: Json) => [item.id, item.product_id, item.quantity, item.unit_price_cents])).toEqual(
        cart.items.map((item: Json) => [item.id, item.product_id, item.quantity, item.unit_price_cents]),
      );
      const { product } = await catalog.GetProduct({ id: "rest-grpc-mug" }, grpcMetadata());
      expect(product.prices).toMatchObject([{ currency: "USD", amount_cents: "999" }]);
    } finally {
      carts.close();
      catalog.close();
    }
  });

  it("what @grpc/grpc-js writes, REST reads", async () => {
    const carts = grpcJsClient("CartService", server.port);
    const catalog = grpcJsClient("CatalogService", server.port);
    try {
      await catalog.UpsertProduct({ product: { id: "grpc-rest-tee", title: "Tee", active: true, prices: [{ currency: "USD", amount_cents: "2100" }] } }, grpcMetadata());
      const { cart } = await carts.CreateCart({ customer_id: "grpc-to-rest", currency: "USD" }, grpcMetadata());
      const { cart: added } = await carts.AddLineItem({ cart_id: cart.id, product_id: "grpc-rest-tee", quantity: 2 }, grpcMetadata());
      const read = await rest("GET", `/v1/carts/${cart.id}`);
      expect(read.body).toMatchObject({ id: cart.id, customer_id: "grpc-to-rest", total_cents: added.total_cents, etag: added.etag });
      expect(read.body.items).toEqual([expect.objectContaining({ id: added.items[0].id, product_id: "grpc-rest-tee", quantity: 2, unit_price_cents: "2100" })]);
      expect((await rest("GET", "/v1/products/grpc-rest-tee")).body).toMatchObject({ title: "Tee", prices: [{ currency: "USD", amount_cents: "2100" }] });
    } finally {
      carts.close();
      catalog.close();
    }
  });
});

describe("the REST transport", () => {
  it("answers unknown paths with 404 and wrong methods with 405 and Allow, in the error shape", async () => {
    expectError(await rest("GET", "/v1/nothing"), 404, "not_found", /no REST route matches GET \/v1\/nothing/);
    const wrong = await rest("PUT", "/v1/carts");
    expectError(wrong, 405, "unimplemented");
    expect(wrong.headers.get("allow")?.split(", ").sort()).toEqual(["GET", "POST"]);
    expectError(await rest("GET", "/v1/carts/%zz"), 400, "invalid_argument", /percent-encoding/);
  });

  it("runs the interceptor chain: the request id comes back", async () => {
    const response = await rest("GET", "/v1/products/rest-missing", undefined, { "x-request-id": "rest-test-request-1" });
    expect(response.headers.get("x-request-id")).toBe("rest-test-request-1");
  });

  it("gives refusals made before the chain (no route, bad JSON) a request id and a log line", async () => {
    const noRoute = await rest("GET", "/v1/nowhere", undefined, { "x-request-id": "rest-test-request-2" });
    expect(noRoute.headers.get("x-request-id")).toBe("rest-test-request-2");
    const badJson = await rest("POST", "/v1/carts", "{not json");
    const generated = badJson.headers.get("x-request-id");
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    await expect.poll(() => server.logs.map((entry) => entry.requestId)).toEqual(
      expect.arrayContaining(["rest-test-request-2", generated]),
    );
  });

  it("serves h2c (HTTP/2 without TLS) on the same port", async () => {
    const session = http2.connect(server.baseUrl);
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const stream = session.request({ ":method": "GET", ":path": "/v1/products/rest-missing", authorization: `Bearer ${adminToken}` });
        let status = 0;
        let body = "";
        stream.on("response", (headers) => (status = Number(headers[":status"])));
        stream.on("data", (chunk: Buffer) => (body += chunk.toString()));
        stream.on("end", () => resolve({ status, body }));
        stream.on("error", reject);
      });
      expect(status).toBe(404);
      expect(JSON.parse(body)).toMatchObject({ error: "not_found" });
    } finally {
      session.close();
    }
  });

  it("leaves the Connect routes on the same port alone", async () => {
    const response = await fetch(`${server.baseUrl}/commerce.cart.v1.CatalogService/GetProduct`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ id: "rest-missing" }),
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: "not_found" });
  });

  it("serves a valid OpenAPI document at GET /openapi.json listing every binding", async () => {
    const response = await rest("GET", "/openapi.json");
    expect(response.status).toBe(200);
    const result = await validate(structuredClone(response.body));
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
    for (const binding of [CartService, CatalogService].flatMap((service) => service.methods.flatMap(httpBindings))) {
      const operation = response.body.paths[openApiPathOf(binding.template)]?.[binding.httpMethod.toLowerCase()];
      expect(operation?.operationId, `${binding.httpMethod} ${binding.template.source}`).toBe(`${binding.method.parent.name}_${binding.method.name}`);
    }
  });
});
