import type { JsonObject } from "@bufbuild/protobuf";
import { storeRouteDocs } from "./routes.js";

/**
 * The Store API's part of the OpenAPI document: its routes (from the route
 * table), its error body and its two credentials. Its JSON is Medusa's
 * (shapes.ts), projected by `fields`, so answers are described as objects
 * under their one top-level key rather than field by field.
 */
export function storeOpenApi(): { paths: Record<string, JsonObject>; schemas: Record<string, JsonObject>; securitySchemes: Record<string, JsonObject>; tag: JsonObject } {
  const paths: Record<string, JsonObject> = {};
  for (const route of storeRouteDocs) {
    const operations = (paths[route.template] ??= {});
    const pathParameters = [...route.template.matchAll(/\{([a-z_]+)\}/g)].map((match) => ({
      name: match[1]!,
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    const queryParameters = route.query.map((name) => ({
      name: name.replace(/!$/, ""),
      in: "query",
      required: name.endsWith("!"),
      schema: { type: "string" },
      ...(name === "fields" && { description: "Medusa's field selection: replace, or modify with +, -, * (see the README's Store API section)." }),
    }));
    const errorAnswer = (description: string) => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/StoreError" } } } });
    operations[route.method.toLowerCase()] = {
      operationId: `Store_${route.method}_${route.template.replace(/^\/store\//, "").replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+/g, "_")}`,
      summary: route.summary,
      tags: ["StoreAPI"],
      security: [{ publishableKey: [], customerBearer: [] }, { publishableKey: [] }],
      parameters: [...pathParameters, ...queryParameters],
      ...(route.body && {
        requestBody: { required: false, content: { "application/json": { schema: { type: ["object", "array"] } } } },
      }),
      responses: {
        "200": {
          description: `JSON with \`${route.answers}\``,
          content: { "application/json": { schema: { type: "object", required: [route.answers], properties: { [route.answers]: {} } } } },
        },
        "400": errorAnswer("Invalid request, or a missing, unknown or revoked publishable key"),
        "401": errorAnswer("A signed-in customer is required"),
        "404": errorAnswer("Not found, or not the caller's"),
        "409": errorAnswer("A conflicting change (a stale If-Match)"),
      },
    };
  }
  return {
    paths,
    schemas: {
      StoreError: {
        type: "object",
        description: "Medusa's error body.",
        required: ["message"],
        properties: {
          type: { type: "string", description: "invalid_data, not_allowed, not_found, conflict, unknown_error, …" },
          message: { type: "string" },
          code: { type: "string" },
          errors: { type: "array", items: { type: "string" } },
        },
      },
    },
    securitySchemes: {
      publishableKey: { type: "apiKey", in: "header", name: "x-publishable-api-key", description: "A publishable key (pk_…) from PublishableKeyService; every /store request needs one." },
      customerBearer: {
        type: "http",
        scheme: "bearer",
        bearerFormat: "JWT",
        description: "Optional customer token from the configured issuer; an invalid one is treated as none.",
      },
    },
    tag: {
      name: "StoreAPI",
      description: "Medusa v2's Store API for carts and checkout (/store), for storefronts written for Medusa; the same service methods underneath.",
    },
  };
}
