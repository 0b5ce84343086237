import { describe, expect, it } from "vitest";
import { httpBindings, RouteTable } from "../../src/transport/rest/routes.js";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { type HttpRuleInit, thingMethod, ThingService, thingService } from "../support/rest-things.js";

const table = new RouteTable(ThingService.methods.flatMap(httpBindings));

function route(httpMethod: string, path: string) {
  const match = table.match(httpMethod, path);
  return match.kind === "found"
    ? { method: match.binding.method.name, variables: Object.fromEntries(match.variables) }
    : match;
}

describe("httpBindings", () => {
  it("reads every rule, with additional bindings, custom methods, body and response_body", () => {
    const summary = ThingService.methods.flatMap(httpBindings).map((binding) => ({
      method: binding.method.name,
      http: `${binding.httpMethod} ${binding.template.source}`,
      pathFields: [...binding.pathFields].map(([path, fields]) => `${path}=${fields.map((field) => field.name).join(".")}`),
      body: binding.body,
      bodyField: binding.bodyField?.name,
      responseField: binding.responseField?.name,
      status: binding.successStatus,
    }));
    expect(summary).toEqual([
      { method: "GetThing", http: "GET /v1/things/{id}", pathFields: ["id=id"], body: "", bodyField: undefined, responseField: undefined, status: 200 },
      { method: "GetThing", http: "GET /v1/{shelf=shelves/*}/things/{id}", pathFields: ["shelf=shelf", "id=id"], body: "", bodyField: undefined, responseField: undefined, status: 200 },
      { method: "ListThings", http: "GET /v1/things", pathFields: [], body: "", bodyField: undefined, responseField: undefined, status: 200 },
      { method: "CreateThing", http: "POST /v1/things", pathFields: [], body: "*", bodyField: undefined, responseField: undefined, status: 201 },
      { method: "UpdateThing", http: "PATCH /v1/things/{id}", pathFields: ["id=id"], body: "inner", bodyField: "inner", responseField: "inner", status: 200 },
      { method: "RenameThing", http: "POST /v1/things/{inner.name}:rename", pathFields: ["inner.name=inner.name"], body: "*", bodyField: undefined, responseField: undefined, status: 200 },
      { method: "FindThings", http: "GET /v1/{shelf=shelves/**}:find", pathFields: ["shelf=shelf"], body: "", bodyField: undefined, responseField: undefined, status: 200 },
      { method: "TouchThing", http: "TOUCH /v1/things/{id}", pathFields: ["id=id"], body: "", bodyField: undefined, responseField: undefined, status: 200 },
    ]);
    expect(httpBindings(thingMethod("Unbound"))).toEqual([]);
  });

  it("binds every unary method of the real services (streams are not served over REST)", () => {
    for (const service of [CartService, CatalogService]) {
      for (const method of service.methods.filter(({ methodKind }) => methodKind === "unary")) {
        expect(httpBindings(method), method.name).not.toHaveLength(0);
      }
    }
    const create = httpBindings(CartService.method.createCart)[0]!;
    expect([create.httpMethod, create.template.source, create.successStatus]).toEqual(["POST", "/v1/carts", 201]);
  });

  it.each<[string, HttpRuleInit, string]>([
    ["no pattern", { body: "*" }, "has no pattern"],
    ["an unknown path field", { pattern: { case: "get", value: "/v1/{nope}" } }, 'path variable "nope" names no field'],
    ["a repeated path field", { pattern: { case: "get", value: "/v1/{tags}" } }, "it is repeated"],
    ["a message path field", { pattern: { case: "get", value: "/v1/{inner}" } }, "it is a message"],
    ["a map path field", { pattern: { case: "get", value: "/v1/{labels}" } }, "it is a map"],
    ["an unknown body field", { pattern: { case: "post", value: "/v1/x" }, body: "nope" }, 'body "nope" names no top-level field'],
    ["a nested body field", { pattern: { case: "post", value: "/v1/x" }, body: "inner.name" }, 'body "inner.name" names no top-level field'],
    ["an unknown response field", { pattern: { case: "get", value: "/v1/x" }, responseBody: "nope" }, 'response_body "nope"'],
    ["a bad template", { pattern: { case: "get", value: "/v1/{id" } }, "invalid path template"],
    [
      "nested additional bindings",
      { pattern: { case: "get", value: "/v1/x" }, additionalBindings: [{ pattern: { case: "get", value: "/v1/y" }, additionalBindings: [{ pattern: { case: "get", value: "/v1/z" } }] }] },
      "must not nest",
    ],
  ])("refuses %s at startup", (_name, rule, reason) => {
    const [method] = thingService([["Broken", rule]]).methods;
    expect(() => httpBindings(method!)).toThrow(reason);
  });

  it("refuses two methods on the same method and path", () => {
    const service = thingService([
      ["One", { pattern: { case: "get", value: "/v1/things/{id}" } }],
      ["Two", { pattern: { case: "get", value: "/v1/things/{id}" } }],
    ]);
    expect(() => new RouteTable(service.methods.flatMap(httpBindings))).toThrow("GET /v1/things/{id} is bound by both test.rest.ThingService.One and test.rest.ThingService.Two");
  });
});

describe("RouteTable", () => {
  it.each([
    ["GET", "/v1/things/t1", { method: "GetThing", variables: { id: "t1" } }],
    ["GET", "/v1/things/t%201/", { method: "GetThing", variables: { id: "t 1" } }],
    ["GET", "/v1/shelves/s1/things/t1", { method: "GetThing", variables: { shelf: "shelves/s1", id: "t1" } }],
    ["GET", "/v1/things", { method: "ListThings", variables: {} }],
    ["POST", "/v1/things", { method: "CreateThing", variables: {} }],
    ["PATCH", "/v1/things/t1", { method: "UpdateThing", variables: { id: "t1" } }],
    ["TOUCH", "/v1/things/t1", { method: "TouchThing", variables: { id: "t1" } }],
    ["POST", "/v1/things/old%20name:rename", { method: "RenameThing", variables: { "inner.name": "old name" } }],
    ["GET", "/v1/shelves/a/b:find", { method: "FindThings", variables: { shelf: "shelves/a/b" } }],
    ["DELETE", "/v1/things/t1", { kind: "method-not-allowed", allow: ["GET", "PATCH", "TOUCH"] }],
    ["GET", "/v1/things/t1:rename", { method: "GetThing", variables: { id: "t1:rename" } }],
    ["PUT", "/v1/things", { kind: "method-not-allowed", allow: ["GET", "POST"] }],
    ["GET", "/v1/nothing", { kind: "not-found" }],
    ["GET", "/v2/things", { kind: "not-found" }],
  ])("%s %s", (httpMethod, path, expected) => {
    expect(route(httpMethod, path)).toEqual(expected);
  });
});
