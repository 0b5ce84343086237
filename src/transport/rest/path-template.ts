/**
 * Path templates of `google.api.http` rules (google/api/http.proto):
 *
 *     Template = "/" Segments [ Verb ] ;
 *     Segments = Segment { "/" Segment } ;
 *     Segment  = "*" | "**" | LITERAL | Variable ;
 *     Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *     FieldPath = IDENT { "." IDENT } ;
 *     Verb     = ":" LITERAL ;
 *
 * `{field}` is short for `{field=*}`; `*` matches one non-empty segment, `**`
 * the rest of the path (zero or more segments) and may only come last.
 */

export type TemplateSegment =
  | { readonly kind: "literal"; readonly value: string }
  | { readonly kind: "wildcard" }
  | { readonly kind: "rest" };

export interface TemplateVariable {
  /** Dotted proto field path, e.g. `cart.id`. */
  readonly fieldPath: string;
  /** The segments the variable captures: `segments.slice(start, end)`. */
  readonly start: number;
  readonly end: number;
}

export interface PathTemplate {
  /** The template as written in the proto. */
  readonly source: string;
  readonly segments: readonly TemplateSegment[];
  readonly variables: readonly TemplateVariable[];
  /** Custom verb without its colon, e.g. `complete`; "" when none. */
  readonly verb: string;
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parsePathTemplate(source: string): PathTemplate {
  const fail = (reason: string): never => {
    throw new Error(`invalid path template "${source}": ${reason}`);
  };
  if (!source.startsWith("/")) fail('it must start with "/"');
  const { path, verb } = splitVerb(source.slice(1));
  if (verb !== undefined && !/^[^/{}*:]+$/.test(verb)) fail(`bad verb ":${verb}"`);

  const segments: TemplateSegment[] = [];
  const variables: TemplateVariable[] = [];
  for (const part of splitOutsideBraces(path, fail)) {
    if (part.startsWith("{")) {
      const inner = part.slice(1, -1);
      const equals = inner.indexOf("=");
      const fieldPath = equals < 0 ? inner : inner.slice(0, equals);
      if (!fieldPath.split(".").every((name) => identifier.test(name))) fail(`bad field path "${fieldPath}"`);
      if (variables.some((variable) => variable.fieldPath === fieldPath)) fail(`"${fieldPath}" is bound twice`);
      const start = segments.length;
      const captured = equals < 0 ? "*" : inner.slice(equals + 1);
      for (const sub of captured.split("/")) {
        if (sub.includes("{")) fail("variables cannot nest");
        segments.push(segmentOf(sub, fail));
      }
      variables.push({ fieldPath, start, end: segments.length });
    } else {
      segments.push(segmentOf(part, fail));
    }
  }
  if (segments.slice(0, -1).some((segment) => segment.kind === "rest")) fail('"**" may only be the last segment');
  return { source, segments, variables, verb: verb ?? "" };
}

function segmentOf(text: string, fail: (reason: string) => never): TemplateSegment {
  if (text === "*") return { kind: "wildcard" };
  if (text === "**") return { kind: "rest" };
  if (text === "" || /[{}*=]/.test(text)) fail(`bad segment "${text}"`);
  return { kind: "literal", value: text };
}

/** The verb is the text after a colon that follows the last "/" outside braces. */
function splitVerb(path: string): { path: string; verb: string | undefined } {
  let depth = 0;
  let lastSlash = -1;
  let colon = -1;
  for (let i = 0; i < path.length; i++) {
    const char = path[i];
    if (char === "{") depth++;
    else if (char === "}") depth--;
    else if (depth === 0 && char === "/") {
      lastSlash = i;
      colon = -1;
    } else if (depth === 0 && char === ":" && colon < 0 && i > lastSlash) colon = i;
  }
  return colon < 0 ? { path, verb: undefined } : { path: path.slice(0, colon), verb: path.slice(colon + 1) };
}

function splitOutsideBraces(path: string, fail: (reason: string) => never): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of path) {
    if (char === "{") depth++;
    if (char === "}") depth--;
    if (depth < 0 || depth > 1) fail("unbalanced braces");
    if (char === "/" && depth === 0) {
      parts.push(current);
      current = "";
    } else {
      current += char;
    }
  }
  if (depth !== 0) fail("unbalanced braces");
  parts.push(current);
  for (const part of parts) {
    if (part.includes("{") && !(part.startsWith("{") && part.endsWith("}"))) fail(`a variable must be a whole segment: "${part}"`);
  }
  return parts;
}

/** Variable values by field path, percent-decoded. */
export type PathBindings = ReadonlyMap<string, string>;

export class MalformedPathError extends Error {}

/**
 * Matches a request path (without query string) against the template and
 * returns the variable values, or undefined when it does not match. A single
 * trailing slash is ignored. Single-segment variables are fully
 * percent-decoded; multi-segment ones keep "%2F" so that their "/" stay
 * unambiguous, as http.proto specifies. Throws MalformedPathError on invalid
 * percent-encoding in a captured segment.
 */
export function matchPathTemplate(template: PathTemplate, requestPath: string): PathBindings | undefined {
  let path = requestPath;
  if (template.verb) {
    const suffix = `:${template.verb}`;
    if (!path.endsWith(suffix)) return undefined;
    path = path.slice(0, -suffix.length);
  }
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  if (!path.startsWith("/")) return undefined;
  const parts = path.slice(1).split("/");
  const { segments } = template;
  const endsWithRest = segments.at(-1)?.kind === "rest";
  if (endsWithRest ? parts.length < segments.length - 1 : parts.length !== segments.length) return undefined;
  for (const [index, segment] of segments.entries()) {
    const part = parts[index];
    if (segment.kind === "literal" && part !== segment.value) return undefined;
    if (segment.kind === "wildcard" && !part) return undefined;
  }
  const bindings = new Map<string, string>();
  for (const variable of template.variables) {
    const capturesRest = variable.end === segments.length && endsWithRest;
    const captured = parts.slice(variable.start, capturesRest ? parts.length : variable.end);
    bindings.set(variable.fieldPath, decodeCaptured(captured));
  }
  return bindings;
}

function decodeCaptured(parts: string[]): string {
  try {
    if (parts.length === 1) return decodeURIComponent(parts[0]!);
    return parts.map((part) => decodeURIComponent(part.replace(/%2F/gi, "%252F"))).join("/");
  } catch {
    throw new MalformedPathError(`malformed percent-encoding in "${parts.join("/")}"`);
  }
}

/**
 * Orders templates so that the first match is the most specific one: a
 * literal beats a wildcard, which beats "**", segment by segment; a template
 * with a verb beats one without.
 */
export function compareSpecificity(a: PathTemplate, b: PathTemplate): number {
  if (Boolean(a.verb) !== Boolean(b.verb)) return a.verb ? -1 : 1;
  const rank = { literal: 0, wildcard: 1, rest: 2 } as const;
  const length = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const left = a.segments[i];
    const right = b.segments[i];
    if (!left || !right) return left ? -1 : 1;
    if (rank[left.kind] !== rank[right.kind]) return rank[left.kind] - rank[right.kind];
  }
  return 0;
}
