// Builds the OpenAPI document from the .proto sources. The descriptors
// embedded in gen/ carry no comments, so this compiles the protos with
// `buf build` (offline), whose image keeps the source info the descriptions
// come from. Needs third_party/proto (see scripts/materialize-protos.ts).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createFileRegistry, type DescService, fromBinary, type JsonObject } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { createOpenApiDocument } from "../src/transport/rest/openapi.js";
import { storeOpenApi } from "../src/transport/store/openapi.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

export function openApiDocumentFromProtos(): JsonObject {
  const image = execFileSync("node_modules/.bin/buf", ["build", "--output", "-"], {
    cwd: repoRoot,
    maxBuffer: 256 * 1024 * 1024,
  });
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, image));
  const services = [...registry]
    .filter((type): type is DescService => type.kind === "service")
    .sort((a, b) => a.typeName.localeCompare(b.typeName));
  const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  const document = createOpenApiDocument(services, {
    title: "Cart service REST API",
    version,
    description:
      "REST/JSON surface of the cart service, transcoded from its gRPC API by the google.api.http " +
      "annotations: the same methods, validation and errors as gRPC and Connect. JSON uses proto field " +
      "names (snake_case; requests also accept lowerCamelCase), 64-bit integers as strings, enums by name " +
      "and timestamps in RFC 3339. Every error answers with the `Error` body. Under /store: Medusa's Store API " +
      "for carts and checkout, in Medusa's JSON and errors.",
  }) as { paths: JsonObject; tags: JsonObject[]; components: { schemas: JsonObject; responses: JsonObject; securitySchemes: JsonObject } };
  const store = storeOpenApi();
  return {
    ...document,
    tags: [...document.tags, store.tag],
    paths: { ...document.paths, ...store.paths },
    components: {
      ...document.components,
      schemas: { ...document.components.schemas, ...store.schemas },
      securitySchemes: { ...document.components.securitySchemes, ...store.securitySchemes },
    },
  };
}
