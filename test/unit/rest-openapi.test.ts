import { readFileSync } from "node:fs";
import { compileErrors, validate } from "@readme/openapi-parser";
import { describe, expect, it } from "vitest";
import { createOpenApiDocument, openApiFile, openApiPathOf } from "../../src/transport/rest/openapi.js";
import { parsePathTemplate } from "../../src/transport/rest/path-template.js";
import { storeRouteDocs } from "../../src/transport/store/routes.js";
import { httpBindings } from "../../src/transport/rest/routes.js";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { openApiDocumentFromProtos } from "../../scripts/openapi-document.js";
import { ThingService } from "../support/rest-things.js";

type Document = {
  paths: Record<string, Record<string, { operationId: string; summary?: string; description?: string; security?: unknown; parameters: { name: string; in: string }[] }>>;
  components: { schemas: Record<string, { properties?: Record<string, { description?: string }> }> };
  tags: { name: string; description?: string }[];
};

async function expectValid(document: object): Promise<void> {
  const result = await validate(structuredClone(document) as never);
  expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
}

/** "GET /v1/carts/{id}" for every operation of the document. */
function operations(document: Pick<Document, "paths">): string[] {
  return Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
}

const fromProtos = openApiDocumentFromProtos() as unknown as Document;

describe("the OpenAPI document of the service", () => {
  it("is valid OpenAPI 3.1", async () => {
    await expectValid(fromProtos);
  });

  it("is what openapi.json holds (run `npm run openapi` after changing the protos)", () => {
    expect(JSON.parse(readFileSync(openApiFile, "utf8"))).toEqual(fromProtos);
  });

  it("lists every HTTP binding of CartService and CatalogService", () => {
    const bindings = [CartService, CatalogService].flatMap((service) => service.methods.flatMap(httpBindings));
    expect(bindings.length).toBeGreaterThan(0);
    for (const binding of bindings) {
      const operation = fromProtos.paths[openApiPathOf(binding.template)]?.[binding.httpMethod.toLowerCase()];
      expect(operation?.operationId, `${binding.httpMethod} ${binding.template.source}`).toBe(`${binding.method.parent.name}_${binding.method.name}`);
    }
  });

  it("states each operation's bearer scope, from the methods' access rules", () => {
    const operations = fromProtos.paths as unknown as Record<string, Record<string, { security?: unknown; description?: string }>>;
    expect(operations["/v1/carts"]!.post!.security).toEqual([{ bearerAuth: ["carts:write"] }]);
    expect(operations["/v1/carts/{id}"]!.get!.security).toEqual([{ bearerAuth: ["carts:read"] }]);
    expect(operations["/v1/products/{id}"]!.put!.security).toEqual([{ bearerAuth: ["catalog:write"] }]);
    expect(operations["/v1/products/{id}"]!.get!.security).toEqual([{ bearerAuth: [] }]);
    expect(operations["/v1/carts"]!.post!.description).toMatch(/customer token acts only on its own carts/);
    expect(operations["/openapi.json"]!.get!.security).toEqual([]);
  });

  it("documents each operation's client errors with the error body, and where the paths are served", () => {
    const document = fromProtos as unknown as {
      servers: { url: string }[];
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { responses: Record<string, { content: unknown }> };
    };
    expect(document.servers).toEqual([expect.objectContaining({ url: "/" })]);
    const responses = (path: string, method: string) => Object.keys(document.paths[path]![method]!.responses).sort();
    expect(responses("/v1/carts", "get")).toEqual(["200", "400", "401", "403", "default"]);
    expect(responses("/v1/carts", "post")).toEqual(["201", "400", "401", "403", "404", "409", "413", "default"]);
    expect(responses("/v1/carts/{id}", "get")).toEqual(["200", "400", "401", "403", "404", "default"]);
    for (const response of Object.values(document.components.responses)) {
      expect(response.content).toEqual({ "application/json": { schema: { $ref: "#/components/schemas/Error" } } });
    }
  });

  it("describes every Store API route, with the publishable key it needs", () => {
    for (const route of storeRouteDocs) {
      const operation = fromProtos.paths[route.template]?.[route.method.toLowerCase()];
      expect(operation?.summary, `${route.method} ${route.template}`).toBe(route.summary);
      expect(operation?.security).toEqual([{ publishableKey: [], customerBearer: [] }, { publishableKey: [] }]);
    }
    expect(fromProtos.paths["/store/shipping-options"]!.get!.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: "cart_id", in: "query", required: true })]),
    );
  });

  it("takes its descriptions from the proto comments", () => {
    expect(fromProtos.paths["/v1/carts"]!.post!.description).toMatch(/^Creates an active cart, optionally with initial lines\.\n/);
    expect(fromProtos.components.schemas["commerce.cart.v1.Cart"]!.properties!.total_cents!.description).toMatch(/^What the customer pays/);
    expect(fromProtos.tags.find((tag) => tag.name === "CartService")?.description).toMatch(/^Carts and their line items/);
  });

  it("documents the query parameters a GET takes and the path parameters", () => {
    const list = fromProtos.paths["/v1/carts"]!.get!;
    expect(list.parameters.map((parameter) => `${parameter.in}:${parameter.name}`)).toEqual(
      expect.arrayContaining(["query:customer_id", "query:status", "query:page_size", "query:page_token"]),
    );
    const update = fromProtos.paths["/v1/carts/{id}"]!.patch!;
    expect(update.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: "id", in: "path", description: expect.stringContaining("Sets `cart.id`.") })]),
    );
    expect(update.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: "update_mask", in: "query" })]));
  });
});

describe("the OpenAPI generator", () => {
  const document = createOpenApiDocument([ThingService], { title: "Things", version: "1", description: "Test." }) as unknown as Document;

  it("handles every binding shape validly: additional bindings, multi-segment variables, verbs", async () => {
    await expectValid(document);
    expect(operations(document).sort()).toEqual(
      [
        "GET /openapi.json",
        "GET /v1/things",
        "GET /v1/things/{id}",
        "GET /v1/{shelf}/things/{id}",
        "GET /v1/{shelf}:find",
        "PATCH /v1/things/{id}",
        "POST /v1/things",
        "POST /v1/things/{name}:rename",
      ].sort(),
    );
    expect(document.paths["/v1/{shelf}/things/{id}"]!.get!.operationId).toBe("ThingService_GetThing_2");
  });

  it("names path parameters by their leaf field, by the whole field path where two leaves clash", () => {
    expect(openApiPathOf(parsePathTemplate("/v1/shelves/{shelf.id}/books/{book.id}"))).toBe("/v1/shelves/{shelf_id}/books/{book_id}");
    expect(openApiPathOf(parsePathTemplate("/v1/shelves/{shelf.name}/books/{book.id}"))).toBe("/v1/shelves/{name}/books/{id}");
  });

  // Inner.deep is an Inner again: a message is not entered twice along one path, so the list stays finite.
  it("offers as query parameters exactly the fields that the path and body leave, by dotted path", () => {
    const names = document.paths["/v1/things/{id}"]!.get!.parameters.filter((parameter) => parameter.in === "query").map((parameter) => parameter.name);
    expect(names).toEqual([
      "inner.name",
      "inner.count",
      "tags",
      "color",
      "colors",
      "at",
      "mask",
      "limit",
      "flag",
      "big",
      "ratio",
      "shelf",
      "wanted",
      "display_name",
    ]);
  });

  it("uses source info comments when the descriptors have them", () => {
    expect(document.tags).toEqual([{ name: "ThingService", description: "Things to test the transcoder with." }]);
    expect(document.components.schemas["test.rest.Thing"]!.properties!.id!.description).toBe("The thing's id.\nAny text.");
  });
});
