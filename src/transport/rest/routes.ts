import { type DescField, type DescMethod, getOption, hasOption } from "@bufbuild/protobuf";
import { resolveFieldPath, textLeafProblem } from "./fields.js";
import { compareSpecificity, matchPathTemplate, type PathBindings, parsePathTemplate, type PathTemplate } from "./path-template.js";
import { type ReadMaskBinding, readMaskBinding } from "./read-mask.js";
import { http } from "../../../gen/google/api/annotations_pb.js";
import type { HttpRule } from "../../../gen/google/api/http_pb.js";

/** One HTTP binding of an RPC: a `google.api.http` rule or one of its additional_bindings. */
export interface HttpBinding {
  readonly method: DescMethod;
  /** Upper-case HTTP method, or a custom rule's kind as written. */
  readonly httpMethod: string;
  readonly template: PathTemplate;
  /** The fields each path variable sets, by its field path. */
  readonly pathFields: ReadonlyMap<string, readonly DescField[]>;
  /** "" (no body), "*" (the whole request) or the top-level request field the body holds. */
  readonly body: string;
  readonly bodyField: DescField | undefined;
  /** The response field sent as the body; undefined for the whole response. */
  readonly responseField: DescField | undefined;
  /** Where the request's `read_mask` applies in the response; undefined without one. */
  readonly readMask: ReadMaskBinding | undefined;
  /** 201 for a POST to a `Create…` method (the resource is new), 200 otherwise. */
  readonly successStatus: number;
}

/** The HTTP bindings a method declares; [] when it has no `google.api.http` option. */
export function httpBindings(method: DescMethod): HttpBinding[] {
  if (!hasOption(method, http)) return [];
  const rule = getOption(method, http);
  for (const additional of rule.additionalBindings) {
    if (additional.additionalBindings.length > 0) {
      throw new Error(`${method.parent.typeName}.${method.name}: additional_bindings must not nest`);
    }
  }
  return [rule, ...rule.additionalBindings].map((binding) => bindingOf(method, binding));
}

function bindingOf(method: DescMethod, rule: HttpRule): HttpBinding {
  const where = `${method.parent.typeName}.${method.name}`;
  const fail: (reason: string) => never = (reason) => {
    throw new Error(`${where}: google.api.http ${reason}`);
  };
  if (method.methodKind !== "unary") fail("is only supported on unary methods");
  const { pattern } = rule;
  if (pattern.case === undefined) fail("has no pattern (get, post, …)");
  const [httpMethod, path] =
    pattern.case === "custom" ? [pattern.value.kind, pattern.value.path] : [pattern.case.toUpperCase(), pattern.value];
  const template = parsePathTemplate(path);

  const pathFields = new Map<string, readonly DescField[]>();
  for (const { fieldPath } of template.variables) {
    const fields = resolveFieldPath(method.input, fieldPath);
    if (!fields) return fail(`path variable "${fieldPath}" names no field of ${method.input.typeName}`);
    const problem = textLeafProblem(fields, false);
    if (problem) fail(`path variable "${fieldPath}" cannot be bound: ${problem}`);
    pathFields.set(fieldPath, fields);
  }

  let bodyField: DescField | undefined;
  if (rule.body !== "" && rule.body !== "*") {
    bodyField = method.input.fields.find((field) => field.name === rule.body);
    if (!bodyField) fail(`body "${rule.body}" names no top-level field of ${method.input.typeName}`);
  }
  let responseField: DescField | undefined;
  if (rule.responseBody !== "") {
    responseField = method.output.fields.find((field) => field.name === rule.responseBody);
    if (!responseField) fail(`response_body "${rule.responseBody}" names no top-level field of ${method.output.typeName}`);
  }
  return {
    method,
    httpMethod,
    template,
    pathFields,
    body: rule.body,
    bodyField,
    responseField,
    readMask: readMaskBinding(method, responseField),
    successStatus: httpMethod === "POST" && /^Create(?![a-z])/.test(method.name) ? 201 : 200,
  };
}

export type RouteMatch<B extends HttpBinding> =
  | { readonly kind: "found"; readonly binding: B; readonly variables: PathBindings }
  | { readonly kind: "method-not-allowed"; readonly allow: readonly string[] }
  | { readonly kind: "not-found" };

/** Finds the binding for a request: the most specific template that matches, then the HTTP method. */
export class RouteTable<B extends HttpBinding> {
  private readonly bindings: B[];

  constructor(bindings: Iterable<B>) {
    this.bindings = [...bindings].sort((a, b) => compareSpecificity(a.template, b.template));
    const seen = new Map<string, B>();
    for (const binding of this.bindings) {
      const key = `${binding.httpMethod} ${binding.template.source}`;
      const other = seen.get(key);
      if (other) {
        throw new Error(`${key} is bound by both ${other.method.parent.typeName}.${other.method.name} and ${binding.method.parent.typeName}.${binding.method.name}`);
      }
      seen.set(key, binding);
    }
  }

  /** Throws MalformedPathError when a path variable has invalid percent-encoding. */
  match(httpMethod: string, path: string): RouteMatch<B> {
    const allow = new Set<string>();
    for (const binding of this.bindings) {
      const variables = matchPathTemplate(binding.template, path);
      if (!variables) continue;
      if (binding.httpMethod === httpMethod) return { kind: "found", binding, variables };
      allow.add(binding.httpMethod);
    }
    return allow.size > 0 ? { kind: "method-not-allowed", allow: [...allow] } : { kind: "not-found" };
  }
}
