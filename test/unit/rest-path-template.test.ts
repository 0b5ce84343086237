import { describe, expect, it } from "vitest";
import {
  compareSpecificity,
  MalformedPathError,
  matchPathTemplate,
  parsePathTemplate,
} from "../../src/transport/rest/path-template.js";

describe("parsePathTemplate", () => {
  it.each([
    ["/v1/carts", [{ kind: "literal", value: "v1" }, { kind: "literal", value: "carts" }], [], ""],
    [
      "/v1/carts/{id}",
      [{ kind: "literal", value: "v1" }, { kind: "literal", value: "carts" }, { kind: "wildcard" }],
      [{ fieldPath: "id", start: 2, end: 3 }],
      "",
    ],
    [
      "/v1/{name=carts/*}:complete",
      [{ kind: "literal", value: "v1" }, { kind: "literal", value: "carts" }, { kind: "wildcard" }],
      [{ fieldPath: "name", start: 1, end: 3 }],
      "complete",
    ],
    [
      "/v1/{cart.id}/*/**",
      [{ kind: "literal", value: "v1" }, { kind: "wildcard" }, { kind: "wildcard" }, { kind: "rest" }],
      [{ fieldPath: "cart.id", start: 1, end: 2 }],
      "",
    ],
    ["/v1/{path=**}", [{ kind: "literal", value: "v1" }, { kind: "rest" }], [{ fieldPath: "path", start: 1, end: 2 }], ""],
  ])("parses %s", (source, segments, variables, verb) => {
    expect(parsePathTemplate(source)).toEqual({ source, segments, variables, verb });
  });

  it.each([
    ["v1/carts", "must start"],
    ["/v1/**/carts", '"**" may only be the last segment'],
    ["/v1/{id", "unbalanced braces"],
    ["/v1/id}", "unbalanced braces"],
    ["/v1/{a={b}}", "unbalanced braces"],
    ["/v1/x{id}", "a variable must be a whole segment"],
    ["/v1/{id}/{id}", "bound twice"],
    ["/v1/{1id}", "bad field path"],
    ["/v1//carts", "bad segment"],
    ["/v1/carts:", "bad verb"],
  ])("refuses %s", (source, reason) => {
    expect(() => parsePathTemplate(source)).toThrow(reason);
  });
});

describe("matchPathTemplate", () => {
  it.each([
    ["/v1/carts", "/v1/carts", {}],
    ["/v1/carts", "/v1/carts/", {}], // one trailing slash is ignored
    ["/v1/carts", "/v1/carts//", undefined],
    ["/v1/carts", "/v1/cart", undefined],
    ["/v1/carts", "/v1/carts/x", undefined],
    ["/v1/carts/{id}", "/v1/carts/abc", { id: "abc" }],
    ["/v1/carts/{id}", "/v1/carts/abc/", { id: "abc" }],
    ["/v1/carts/{id}", "/v1/carts/", undefined], // an empty segment never matches a variable
    ["/v1/carts/{id}", "/v1/carts//", undefined],
    ["/v1/carts/{id}", "/v1/carts/a%20b%2Fc%3A%25", { id: "a b/c:%" }], // percent-decoded, "/" included
    ["/v1/carts/{id}", "/v1/carts/%E2%82%AC", { id: "€" }],
    ["/v1/carts/{id}", "/v1/carts/a:b", { id: "a:b" }], // no verb in the template: the colon is data
    ["/v1/carts/{cart.id}/items/{item_id}", "/v1/carts/c1/items/i%2F2", { "cart.id": "c1", item_id: "i/2" }],
    ["/v1/{name=carts/*}", "/v1/carts/42", { name: "carts/42" }],
    ["/v1/{name=carts/*}", "/v1/shelves/42", undefined],
    ["/v1/{name=shelves/**}", "/v1/shelves", { name: "shelves" }],
    ["/v1/{name=shelves/**}", "/v1/shelves/a/b%2Fc/d%20e", { name: "shelves/a/b%2Fc/d e" }], // multi-segment: %2F kept
    ["/v1/*/items", "/v1/anything/items", {}],
    ["/v1/*/items", "/v1/items", undefined],
    ["/v1/**", "/v1", {}],
    ["/v1/**", "/v1/a/b/c", {}],
    ["/v1/carts/{id}:complete", "/v1/carts/abc:complete", { id: "abc" }],
    ["/v1/carts/{id}:complete", "/v1/carts/abc", undefined],
    ["/v1/carts/{id}:complete", "/v1/carts/abc%3Acomplete", undefined], // an encoded colon is data, not a verb
    ["/v1/carts/{id}:complete", "/v1/carts/a:b:complete", { id: "a:b" }],
  ])("%s against %s", (template, path, expected) => {
    const bindings = matchPathTemplate(parsePathTemplate(template), path);
    expect(bindings && Object.fromEntries(bindings)).toEqual(expected);
  });

  it.each(["/v1/carts/%zz", "/v1/carts/%E2%82", "/v1/carts/%"])("refuses malformed percent-encoding in %s", (path) => {
    expect(() => matchPathTemplate(parsePathTemplate("/v1/carts/{id}"), path)).toThrow(MalformedPathError);
  });
});

describe("compareSpecificity", () => {
  it("puts literals before wildcards before **, and verbs first", () => {
    const templates = ["/v1/{path=**}", "/v1/carts/{id}", "/v1/carts/{id}:complete", "/v1/carts/special", "/v1/*/x"];
    const sorted = templates.map(parsePathTemplate).sort(compareSpecificity).map((template) => template.source);
    expect(sorted).toEqual(["/v1/carts/{id}:complete", "/v1/carts/special", "/v1/carts/{id}", "/v1/*/x", "/v1/{path=**}"]);
  });
});
