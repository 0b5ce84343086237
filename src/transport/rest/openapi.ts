import { readFileSync } from "node:fs";
import {
  type DescEnum,
  type DescEnumValue,
  type DescField,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
  getOption,
  hasOption,
  type JsonObject,
  ScalarType,
} from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { access } from "../../../gen/commerce/cart/v1/access_pb.js";
import { projectPath } from "../../project-root.js";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { textLeafProblem } from "./fields.js";
import { openApiPath } from "./handler.js";
import type { PathTemplate } from "./path-template.js";
import { type HttpBinding, httpBindings } from "./routes.js";

/** `openapi.json` at the repository root, written by `npm run openapi` and served at GET /openapi.json. */
export const openApiFile = projectPath("openapi.json");

export function readOpenApiDocument(): string {
  try {
    return readFileSync(openApiFile, "utf8");
  } catch (error) {
    throw new Error(`cannot read ${openApiFile}; write it with \`npm run openapi\``, { cause: error });
  }
}

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description: string;
}

type Schema = JsonObject;

const errorRef = { $ref: "#/components/schemas/Error" };

const openApiMethods = new Set(["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"]);

/**
 * An OpenAPI 3.1 document of the REST surface: one operation per
 * `google.api.http` binding of the given services, schemas for every message
 * and enum they use, and the error body. Descriptions come from the proto
 * comments when the descriptors carry source info (a `buf build` image does;
 * the descriptors embedded in generated code do not).
 */
export function createOpenApiDocument(services: readonly DescService[], info: OpenApiInfo): JsonObject {
  const schemas = new SchemaSet();
  const paths: Record<string, Record<string, JsonObject>> = {};
  const tags: JsonObject[] = [];
  for (const service of services) {
    const bindings = service.methods.flatMap(httpBindings);
    if (bindings.length === 0) continue;
    tags.push({ name: service.name, ...described(service) });
    const seen = new Map<DescMethod, number>();
    for (const binding of bindings) {
      // OpenAPI has no place for custom HTTP methods; such bindings stay undocumented.
      if (!openApiMethods.has(binding.httpMethod)) continue;
      const index = seen.get(binding.method) ?? 0;
      seen.set(binding.method, index + 1);
      const operations = (paths[openApiPathOf(binding.template)] ??= {});
      operations[binding.httpMethod.toLowerCase()] = operation(binding, index, schemas);
    }
  }
  schemas.add("Error", errorSchema());
  schemas.add("ErrorDetail", errorDetailSchema());
  return {
    openapi: "3.1.0",
    info: { ...info },
    // Relative: the paths are served where this document is (GET /openapi.json), in every deployment.
    servers: [{ url: "/", description: "The service that serves this document, e.g. http://localhost:8080 under `npm start`" }],
    tags,
    paths: {
      ...paths,
      [openApiPath]: {
        get: {
          operationId: "OpenApiDocument",
          summary: "This document",
          tags: [],
          security: [],
          responses: { "200": { description: "The OpenAPI document", content: { "application/json": { schema: { type: "object" } } } } },
        },
      },
    },
    components: {
      schemas: schemas.all(),
      responses: Object.fromEntries(
        Object.entries(errorResponses).map(([status, description]) => [status, { description, content: { "application/json": { schema: errorRef } } }]),
      ),
      securitySchemes: {
        [securityScheme]: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            "An OAuth access token (RS256, ES256 or EdDSA) from the configured issuer. Its space-separated `scope` " +
            "claim must grant each operation's scope; without `carts:admin` it is a customer token, limited to " +
            "the carts whose customer_id is its `sub`.",
        },
      },
    },
  };
}

const securityScheme = "bearerAuth";

/** Who may call the method, from its `(commerce.cart.v1.access)` option, as OpenAPI security and a sentence. */
function accessOf(method: DescMethod): { security?: JsonObject[]; note?: string } {
  if (!hasOption(method, access)) return {};
  const { scope, customerOwned } = getOption(method, access);
  const needs = scope ? `Needs a bearer token with the \`${scope}\` scope` : "Needs any valid bearer token";
  return {
    security: [{ [securityScheme]: scope ? [scope] : [] }],
    note: `${needs}${customerOwned ? "; a customer token acts only on its own carts" : ""}.`,
  };
}

/**
 * `/v1/carts/{id}:verb`; wildcards outside variables become parameters named by position.
 * Variables are named by their leaf field (`{cart.id}` → `{id}`), so that the
 * bindings of one resource share one templated path, as OpenAPI requires.
 */
export function openApiPathOf(template: PathTemplate): string {
  const names = parameterNames(template);
  const parts: string[] = [];
  for (let index = 0; index < template.segments.length; index++) {
    const variable = template.variables.find((candidate) => candidate.start === index);
    const segment = template.segments[index]!;
    if (variable) {
      parts.push(`{${names.get(variable.fieldPath)}}`);
      index = variable.end - 1;
    } else {
      parts.push(segment.kind === "literal" ? segment.value : `{${anonymousName(index)}}`);
    }
  }
  return `/${parts.join("/")}${template.verb ? `:${template.verb}` : ""}`;
}

/** The OpenAPI name of each variable's field path: its leaf, or the whole path (dots as `_`) where leaves clash. */
function parameterNames(template: PathTemplate): Map<string, string> {
  const leafOf = (fieldPath: string) => fieldPath.slice(fieldPath.lastIndexOf(".") + 1);
  const leaves = template.variables.map((variable) => leafOf(variable.fieldPath));
  return new Map(
    template.variables.map(({ fieldPath }) => {
      const leaf = leafOf(fieldPath);
      const unique = leaves.filter((other) => other === leaf).length === 1;
      return [fieldPath, unique ? leaf : fieldPath.replaceAll(".", "_")];
    }),
  );
}

function anonymousName(index: number): string {
  return `segment${index + 1}`;
}

function operation(binding: HttpBinding, index: number, schemas: SchemaSet): JsonObject {
  const { method, template } = binding;
  const parameters: JsonObject[] = [];
  template.segments.forEach((segment, position) => {
    if (segment.kind === "literal" || template.variables.some((v) => position >= v.start && position < v.end)) return;
    parameters.push({ name: anonymousName(position), in: "path", required: true, schema: { type: "string" }, description: "Any segment; ignored." });
  });
  const names = parameterNames(template);
  for (const [fieldPath, fields] of binding.pathFields) {
    const leaf = fields.at(-1)!;
    const variable = template.variables.find((v) => v.fieldPath === fieldPath)!;
    const spans = variable.end - variable.start > 1 || template.segments[variable.start]?.kind === "rest";
    const name = names.get(fieldPath)!;
    const notes = [name !== fieldPath ? `Sets \`${fieldPath}\`.` : "", spans ? "May span several segments." : ""].filter(Boolean).join(" ");
    parameters.push({
      name,
      in: "path",
      required: true,
      schema: schemas.fieldSchema(leaf),
      ...described(leaf, notes || undefined),
    });
  }
  if (binding.body !== "*") {
    for (const [name, leaf] of queryParameters(binding)) {
      parameters.push({ name, in: "query", schema: schemas.fieldSchema(leaf), ...described(leaf) });
    }
  }
  const responseSchema = binding.responseField ? schemas.fieldSchema(binding.responseField) : schemas.messageRef(method.output);
  const { security, note } = accessOf(method);
  return {
    operationId: `${method.parent.name}_${method.name}${index > 0 ? `_${index + 1}` : ""}`,
    summary: method.name,
    ...described(method, note),
    ...(security && { security }),
    tags: [method.parent.name],
    parameters,
    ...(binding.body !== "" && {
      requestBody: { required: true, content: { "application/json": { schema: requestBodySchema(binding, schemas) } } },
    }),
    responses: {
      [String(binding.successStatus)]: {
        description: binding.successStatus === 201 ? "Created" : "OK",
        content: { "application/json": { schema: responseSchema } },
      },
      ...errorResponsesOf(binding, security !== undefined),
      default: { description: "Another error, e.g. 503 or 504 (gRPC code and HTTP status per the standard mapping)", content: { "application/json": { schema: errorRef } } },
    },
  };
}

/** The client errors a binding can answer (README "Errors"), each a `$ref` to a shared response with the `Error` body. */
function errorResponsesOf(binding: HttpBinding, secured: boolean): Record<string, JsonObject> {
  const hasBody = binding.body !== "";
  const statuses = [
    "400",
    ...(secured ? ["401", "403"] : []),
    ...(binding.template.variables.length > 0 || hasBody ? ["404"] : []),
    ...(binding.httpMethod !== "GET" ? ["409"] : []),
    ...(hasBody ? ["413"] : []),
  ];
  return Object.fromEntries(statuses.map((status) => [status, { $ref: `#/components/responses/${status}` }]));
}

const errorResponses: Record<string, string> = {
  "400": "INVALID_ARGUMENT (a field breaks a rule: see the field violations in `details`; malformed JSON; unknown fields or query parameters) or FAILED_PRECONDITION (the cart's state or a limit forbids the change).",
  "401": "UNAUTHENTICATED: the bearer token is missing, malformed, expired or not trusted.",
  "403": "PERMISSION_DENIED: the token lacks the operation's scope, or a customer token names a cart that is not its own (or does not exist).",
  "404": "NOT_FOUND: an unknown cart (for admin tokens), line, product, region, shipping option or promotion.",
  "409": "ABORTED: a stale etag (`If-Match`), the same idempotency key still running, or a busy cart.",
  "413": "RESOURCE_EXHAUSTED: the request body is larger than the service accepts (`READ_MAX_BYTES`).",
};

/** The request body: one field's schema, or the request message without the fields the path sets. */
function requestBodySchema(binding: HttpBinding, schemas: SchemaSet): Schema {
  if (binding.bodyField) return schemas.fieldSchema(binding.bodyField);
  const pathBound = new Set([...binding.pathFields.values()].filter((fields) => fields.length === 1).map((fields) => fields[0]));
  if (pathBound.size === 0) return schemas.messageRef(binding.method.input);
  const fields = binding.method.input.fields.filter((field) => !pathBound.has(field));
  return { type: "object", ...described(binding.method.input), properties: schemas.properties(fields) };
}

/** Every field the query may set, by dotted name: what neither the path nor the body covers. */
function queryParameters(binding: HttpBinding): [string, DescField][] {
  const pathBound = new Set([...binding.pathFields.values()].map((fields) => fields.at(-1)!));
  const found: [string, DescField][] = [];
  const visit = (message: DescMessage, prefix: string, trail: ReadonlySet<string>) => {
    for (const field of message.fields) {
      if (field === binding.bodyField || pathBound.has(field)) continue;
      const name = prefix + field.name;
      if (!textLeafProblem([field], true)) {
        found.push([name, field]);
      } else if (field.fieldKind === "message" && !trail.has(field.message.typeName)) {
        visit(field.message, `${name}.`, new Set([...trail, field.message.typeName]));
      }
    }
  };
  visit(binding.method.input, "", new Set([binding.method.input.typeName]));
  return found;
}

/** Component schemas, keyed by full proto name, with proto3 JSON types. */
class SchemaSet {
  private readonly schemas: Record<string, Schema> = {};

  add(name: string, schema: Schema): void {
    this.schemas[name] = schema;
  }

  all(): Record<string, Schema> {
    return Object.fromEntries(Object.entries(this.schemas).sort(([a], [b]) => a.localeCompare(b)));
  }

  messageRef(message: DescMessage): Schema {
    const wellKnown = wellKnownSchemas[message.typeName];
    if (wellKnown) return { ...wellKnown };
    if (!(message.typeName in this.schemas)) {
      this.schemas[message.typeName] = {}; // placeholder first: messages may refer to themselves
      this.schemas[message.typeName] = {
        type: "object",
        ...described(message),
        properties: this.properties(message.fields),
      };
    }
    return { $ref: `#/components/schemas/${message.typeName}` };
  }

  properties(fields: readonly DescField[]): JsonObject {
    return Object.fromEntries(fields.map((field) => [field.name, { ...this.fieldSchema(field), ...described(field) }]));
  }

  fieldSchema(field: DescField): Schema {
    switch (field.fieldKind) {
      case "scalar":
        return scalarSchema(field.scalar);
      case "enum":
        return this.enumRef(field.enum);
      case "message":
        return this.messageRef(field.message);
      case "list":
        return {
          type: "array",
          items:
            field.listKind === "scalar"
              ? scalarSchema(field.scalar)
              : field.listKind === "enum"
                ? this.enumRef(field.enum)
                : this.messageRef(field.message),
        };
      case "map":
        return {
          type: "object",
          additionalProperties:
            field.mapKind === "scalar"
              ? scalarSchema(field.scalar)
              : field.mapKind === "enum"
                ? this.enumRef(field.enum)
                : this.messageRef(field.message),
        };
    }
  }

  private enumRef(desc: DescEnum): Schema {
    this.schemas[desc.typeName] ??= {
      type: "string",
      ...described(desc, enumValuesText(desc.values)),
      enum: desc.values.map((value) => value.name),
    };
    return { $ref: `#/components/schemas/${desc.typeName}` };
  }
}

function enumValuesText(values: readonly DescEnumValue[]): string {
  return values
    .map((value) => {
      const comment = commentOf(value);
      return comment ? `- \`${value.name}\`: ${comment}` : `- \`${value.name}\``;
    })
    .join("\n");
}

function scalarSchema(scalar: ScalarType): Schema {
  switch (scalar) {
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "uint32", minimum: 0 };
    // proto3 JSON writes 64-bit integers as strings, so that no precision is lost.
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64", pattern: "^-?[0-9]+$" };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64", pattern: "^[0-9]+$" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
  }
}

const nullable = (schema: Schema): Schema => ({ ...schema, type: [schema.type as string, "null"] });

/** Well-known types have their own JSON forms (proto3 JSON mapping). */
const wellKnownSchemas: Record<string, Schema> = {
  "google.protobuf.Timestamp": { type: "string", format: "date-time" },
  "google.protobuf.Duration": { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$" },
  "google.protobuf.FieldMask": { type: "string", description: "Comma-separated field paths." },
  "google.protobuf.Empty": { type: "object", additionalProperties: false },
  "google.protobuf.Struct": { type: "object" },
  "google.protobuf.Value": {},
  "google.protobuf.ListValue": { type: "array" },
  "google.protobuf.Any": { type: "object", properties: { "@type": { type: "string" } }, required: ["@type"] },
  "google.protobuf.DoubleValue": nullable(scalarSchema(ScalarType.DOUBLE)),
  "google.protobuf.FloatValue": nullable(scalarSchema(ScalarType.FLOAT)),
  "google.protobuf.Int64Value": nullable(scalarSchema(ScalarType.INT64)),
  "google.protobuf.UInt64Value": nullable(scalarSchema(ScalarType.UINT64)),
  "google.protobuf.Int32Value": nullable(scalarSchema(ScalarType.INT32)),
  "google.protobuf.UInt32Value": nullable(scalarSchema(ScalarType.UINT32)),
  "google.protobuf.BoolValue": nullable(scalarSchema(ScalarType.BOOL)),
  "google.protobuf.StringValue": nullable(scalarSchema(ScalarType.STRING)),
  "google.protobuf.BytesValue": nullable(scalarSchema(ScalarType.BYTES)),
};

function errorSchema(): Schema {
  const codes = Object.values(Code)
    .filter((code): code is Code => typeof code === "number")
    .map((code) => codeToString(code));
  return {
    type: "object",
    description: "The body of every failed REST call.",
    properties: {
      error: { type: "string", enum: codes, description: "The gRPC status code, e.g. `invalid_argument`." },
      message: { type: "string", description: "What went wrong, for a human reader." },
      details: { type: "array", items: { $ref: "#/components/schemas/ErrorDetail" } },
    },
    required: ["error", "message", "details"],
  };
}

function errorDetailSchema(): Schema {
  return {
    type: "object",
    description:
      'A field violation (`field`, `rule`, `message`), or another error detail as google.protobuf.Any JSON (`"@type"` and the message fields).',
    properties: {
      field: { type: "string", description: "Path of the offending field, e.g. `items[0].quantity`." },
      rule: { type: "string", description: "Id of the violated rule, e.g. `string.min_len`." },
      message: { type: "string" },
      for_key: { type: "boolean", description: "True when a map key, not its value, is at fault." },
      "@type": { type: "string" },
    },
  };
}

type Commented = DescService | DescMethod | DescMessage | DescField | DescEnum | DescEnumValue;

/** `{description}` from the proto comment and any extra text; {} when there is neither. */
function described(desc: Commented, extra?: string): { description?: string } {
  const text = [commentOf(desc), extra].filter(Boolean).join("\n\n");
  return text ? { description: text } : {};
}

/** The leading comment of a descriptor, from its file's source info. */
function commentOf(desc: Commented): string | undefined {
  const location = locationsOf(fileOf(desc)).get(sourcePath(desc).join(","));
  const text = location?.leadingComments;
  if (!text) return undefined;
  return text
    .split("\n")
    .map((line) => line.replace(/^ /, ""))
    .join("\n")
    .trim();
}

const locationCache = new WeakMap<DescFile, Map<string, { leadingComments?: string }>>();

function locationsOf(file: DescFile) {
  let locations = locationCache.get(file);
  if (!locations) {
    locations = new Map((file.proto.sourceCodeInfo?.location ?? []).map((location) => [location.path.join(","), location]));
    locationCache.set(file, locations);
  }
  return locations;
}

function fileOf(desc: Commented): DescFile {
  return desc.kind === "field" || desc.kind === "enum_value" || desc.kind === "rpc" ? desc.parent.file : desc.file;
}

/** The descriptor's path in its FileDescriptorProto, as source info addresses it. */
function sourcePath(desc: Commented): number[] {
  switch (desc.kind) {
    case "service":
      return [6, desc.file.proto.service.indexOf(desc.proto)];
    case "rpc":
      return [...sourcePath(desc.parent), 2, desc.parent.proto.method.indexOf(desc.proto)];
    case "message":
      return desc.parent
        ? [...sourcePath(desc.parent), 3, desc.parent.proto.nestedType.indexOf(desc.proto)]
        : [4, desc.file.proto.messageType.indexOf(desc.proto)];
    case "enum":
      return desc.parent
        ? [...sourcePath(desc.parent), 4, desc.parent.proto.enumType.indexOf(desc.proto)]
        : [5, desc.file.proto.enumType.indexOf(desc.proto)];
    case "field":
      return [...sourcePath(desc.parent), 2, desc.parent.proto.field.indexOf(desc.proto)];
    case "enum_value":
      return [...sourcePath(desc.parent), 2, desc.parent.proto.value.indexOf(desc.proto)];
  }
}
