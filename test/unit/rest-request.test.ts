import { toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { decodeRequest } from "../../src/transport/rest/request.js";
import { httpBindings, RouteTable } from "../../src/transport/rest/routes.js";
import { ThingSchema, ThingService } from "../support/rest-things.js";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";

const table = new RouteTable(ThingService.methods.flatMap(httpBindings));

/** Routes the request like the handler does and decodes it; the request message as proto-named JSON. */
function decode(request: string, body = "") {
  const [httpMethod, target] = request.split(" ") as [string, string];
  const [path, query = ""] = target.split("?") as [string, string?];
  const match = table.match(httpMethod, path);
  if (match.kind !== "found") throw new Error(`no route for ${request}`);
  const message = decodeRequest(match.binding, match.variables, new URLSearchParams(query), body);
  return toJson(ThingSchema, message, { useProtoFieldName: true });
}

function refusal(request: string, body = ""): string {
  try {
    decode(request, body);
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    return (error as ConnectError).rawMessage;
  }
  throw new Error(`${request} was accepted`);
}

describe("query parameters", () => {
  it.each([
    ["GET /v1/things?id=t1", { id: "t1" }],
    ["GET /v1/things?id=a%20b%26c", { id: "a b&c" }],
    ["GET /v1/things?id=a+b", { id: "a b" }],
    ["GET /v1/things?big=9007199254740993", { big: "9007199254740993" }], // beyond 2^53: no precision lost
    ["GET /v1/things?ratio=0.25&flag=true", { ratio: 0.25, flag: true }],
    ["GET /v1/things?flag=false&id=", {}],
    ["GET /v1/things?color=COLOR_BLUE", { color: "COLOR_BLUE" }],
    ["GET /v1/things?color=2", { color: "COLOR_BLUE" }],
    ["GET /v1/things?tags=a&tags=b&tags=a", { tags: ["a", "b", "a"] }],
    ["GET /v1/things?colors=COLOR_RED&colors=2", { colors: ["COLOR_RED", "COLOR_BLUE"] }],
    ["GET /v1/things?inner.name=n&inner.count=-3", { inner: { name: "n", count: "-3" } }],
    ["GET /v1/things?inner.deep.deep.name=x", { inner: { deep: { deep: { name: "x" } } } }],
    ["GET /v1/things?at=2024-02-29T12:30:00.5Z", { at: "2024-02-29T12:30:00.500Z" }],
    ["GET /v1/things?at=2024-02-29T14:30:00%2B02:00", { at: "2024-02-29T12:30:00Z" }],
    ["GET /v1/things?mask=id,inner.deep,shelf", { mask: "id,inner.deep,shelf" }],
    ["GET /v1/things?mask=inner.count&mask=wanted", { mask: "inner.count,wanted" }],
    ["GET /v1/things?limit=0", { limit: 0 }], // a wrapper keeps an explicit zero
    ["GET /v1/things?wanted=false", { wanted: false }],
    ["GET /v1/things?shelf=s&tags=x", { shelf: "s", tags: ["x"] }],
  ])("%s", (request, expected) => {
    expect(decode(request)).toEqual(expected);
  });

  it.each([
    ["GET /v1/things?display_name=x", { display_name: "x" }],
    ["GET /v1/things?displayName=x", { display_name: "x" }],
    ["GET /v1/things?mask=display_name,inner.count", { mask: "displayName,inner.count" }],
    ["GET /v1/things?mask=displayName", { mask: "displayName" }],
  ])("takes proto and JSON names: %s", (request, expected) => {
    expect(decode(request)).toEqual(expected);
  });

  it.each([
    ["GET /v1/things?nope=1", 'unknown query parameter "nope": test.rest.Thing has no such field'],
    ["GET /v1/things?inner.nope=1", 'unknown query parameter "inner.nope"'],
    ["GET /v1/things?at.seconds=1", 'unknown query parameter "at.seconds"'],
    ["GET /v1/things/t1?id=t2", 'unknown query parameter "id": "id" comes from the URL path'],
    ["POST /v1/things?id=t1", 'unknown query parameter "id": this method takes every field from the request body'],
    ["PATCH /v1/things/t1?inner.name=x", 'unknown query parameter "inner.name": "inner" comes from the request body'],
    ["GET /v1/things?inner=x", 'query parameter "inner" cannot be set from the URL: it is a message'],
    ["GET /v1/things?labels=x", 'query parameter "labels" cannot be set from the URL: it is a map'],
    ["GET /v1/things?inners=x", 'query parameter "inners" cannot be set from the URL: it is a list of messages'],
    ["GET /v1/things?id=a&id=b", 'query parameter "id" is given 2 times but is not repeated'],
    ["GET /v1/things?big=1.5", 'invalid value for query parameter "big"'],
    ["GET /v1/things?flag=yes", 'invalid value for query parameter "flag"'],
    ["GET /v1/things?color=COLOR_GREEN", 'invalid value for query parameter "color"'],
    ["GET /v1/things?at=yesterday", 'invalid value for query parameter "at"'],
    ["GET /v1/things?limit=many", 'invalid value for query parameter "limit"'],
  ])("refuses %s", (request, reason) => {
    expect(refusal(request)).toContain(reason);
  });
});

describe("path variables", () => {
  it.each([
    ["GET /v1/things/t%2F1%3F", { id: "t/1?" }],
    ["GET /v1/shelves/s%201/things/t1", { shelf: "shelves/s 1", id: "t1" }],
    ["GET /v1/shelves/a%2Fb/c:find", { shelf: "shelves/a%2Fb/c" }],
    ["POST /v1/things/old:rename", { inner: { name: "old" } }],
  ])("%s", (request, expected) => {
    expect(decode(request)).toEqual(expected);
  });
});

describe("bodies", () => {
  it.each([
    ["POST /v1/things", '{"id":"t1","inner":{"name":"n"},"tags":["a"],"labels":{"k":"v"},"big":"12"}', { id: "t1", inner: { name: "n" }, tags: ["a"], labels: { k: "v" }, big: "12" }],
    ["POST /v1/things", '{"shelf":"s","inners":[{"count":3}]}', { shelf: "s", inners: [{ count: "3" }] }],
    ["POST /v1/things", '{"displayName":"json name"}', { display_name: "json name" }],
    ["POST /v1/things", "", {}],
    ["POST /v1/things", "  \n", {}],
    ["PATCH /v1/things/t1?tags=x", '{"name":"n","count":"5"}', { id: "t1", inner: { name: "n", count: "5" }, tags: ["x"] }],
    ["PATCH /v1/things/t1", "null", { id: "t1" }],
    ["PATCH /v1/things/t1", "{}", { id: "t1", inner: {} }],
  ])("%s %s", (request, body, expected) => {
    expect(decode(request, body)).toEqual(expected);
  });

  it.each([
    ["POST /v1/things", '{"id":', "the request body is not valid JSON"],
    ["POST /v1/things", "{'id':'x'}", "the request body is not valid JSON"],
    ["POST /v1/things", '{"id":"t1","surprise":1}', 'key "surprise" is unknown'],
    ["POST /v1/things", '{"inner":{"surprise":1}}', 'key "surprise" is unknown'],
    ["POST /v1/things", '{"big":"x"}', "invalid request body"],
    ["POST /v1/things", "[]", "invalid request body"],
    ["PATCH /v1/things/t1", '{"id":"t1"}', 'key "id" is unknown'], // the body is the Inner message here
    ["GET /v1/things/t1", "{}", "GET /v1/things/{id} takes no request body"],
  ])("refuses %s %s", (request, body, reason) => {
    expect(refusal(request, body)).toContain(reason);
  });
});

describe("a field in both the path and the body", () => {
  it("is accepted when both give the same value", () => {
    expect(decode("POST /v1/things/n1:rename", '{"inner":{"name":"n1","count":"2"}}')).toEqual({ inner: { name: "n1", count: "2" } });
  });

  it("is refused when the values differ: the path does not silently win", () => {
    expect(refusal("POST /v1/things/n1:rename", '{"inner":{"name":"n2"}}')).toBe(
      '"inner.name" is given both in the URL path and in the request body, with different values',
    );
  });

  it("takes the path value when the body leaves the field empty", () => {
    expect(decode("POST /v1/things/n1:rename", '{"inner":{"count":"2"},"id":"x"}')).toEqual({ id: "x", inner: { name: "n1", count: "2" } });
  });
});

describe("read_mask on the cart routes", () => {
  const cartRoutes = new RouteTable(CartService.methods.flatMap(httpBindings));

  /** The read_mask paths of a GET on a cart route. */
  function readMaskPaths(target: string): string[] {
    const [path, query = ""] = target.split("?") as [string, string?];
    const match = cartRoutes.match("GET", path);
    if (match.kind !== "found") throw new Error(`no route for GET ${path}`);
    const message = decodeRequest(match.binding, match.variables, new URLSearchParams(query), "") as { readMask?: { paths: string[] } };
    return message.readMask?.paths ?? [];
  }

  it.each([
    // The AIP-157 form: proto names, as users write them.
    ["/v1/carts/c1?read_mask=id,total_cents,items.product_id", ["id", "total_cents", "items.product_id"]],
    // The proto JSON form: lowerCamelCase names.
    ["/v1/carts/c1?readMask=id,totalCents,items.productId", ["id", "total_cents", "items.product_id"]],
    ["/v1/carts/c1?read_mask=id&read_mask=totals.total", ["id", "totals.total"]],
    ["/v1/carts/c1?read_mask=*", ["*"]],
    ["/v1/carts?customer_id=alice&read_mask=id,expire_time", ["id", "expire_time"]],
    // Unknown names pass the transcoder; the service refuses them by name.
    ["/v1/carts/c1?read_mask=no_such_field", ["no_such_field"]],
  ])("GET %s", (target, paths) => {
    expect(readMaskPaths(target)).toEqual(paths);
  });
});
