import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { StoreError } from "./errors.js";

/**
 * The `fields` query parameter of the Store API, as Medusa 2.21 reads it:
 * a comma-separated list that either replaces the route's defaults (when any
 * entry has no modifier) or modifies them (`+f` or ` f` adds, `-f` removes f
 * and everything under it, `*rel` or `rel.*` selects a whole relation). `id`
 * is always kept; entries outside the route's allow-list are dropped without
 * an error; a path nesting deeper than the relations limit is refused.
 */
export interface FieldsConfig {
  readonly defaults: readonly string[];
  /** The defaults and the extras, without star markers; only these paths may be selected. */
  readonly allowed: ReadonlySet<string>;
}

/** What a request selects: plain paths, and relations selected whole. */
export interface FieldSelection {
  readonly fields: ReadonlySet<string>;
  readonly starFields: ReadonlySet<string>;
}

/** Deepest relation path a store request may select (Medusa's storeRelationsLimit). */
export const relationsLimit = 3;

const starMarker = /(^\*|\.\*$)/;

export function fieldsConfig(defaults: readonly string[], extras: readonly string[] = []): FieldsConfig {
  return { defaults, allowed: new Set([...defaults, ...extras].map((field) => field.replace(starMarker, ""))) };
}

function stripModifier(field: string): string {
  return field.replace(/^[+ \t-]+/, "").trim();
}

function isModifier(field: string): boolean {
  return field.startsWith("-") || field.startsWith("+") || field.startsWith(" ") || field.startsWith("*") || field.endsWith(".*");
}

/** How many relations a selected path crosses: its segments, less the last one unless it selects a whole relation. */
function relationsDepth(field: string): number {
  const star = field.startsWith("*") || field.endsWith(".*");
  const segments = field.replace(starMarker, "").split(".").length;
  return star ? segments : segments - 1;
}

export function parseFields(value: string | undefined, config: FieldsConfig): FieldSelection {
  let all = new Set(config.defaults);
  if (value !== undefined) {
    const entries = value.split(",").filter(Boolean);
    if (entries.length === 0 || !entries.every(isModifier)) {
      all = new Set(entries.map(stripModifier));
    } else {
      for (const entry of entries) {
        if (entry.startsWith("+") || entry.startsWith(" ")) all.add(stripModifier(entry));
        else if (entry.startsWith("-")) {
          const removed = stripModifier(entry);
          for (const field of all) {
            const name = field.replace(/^\*/, "");
            if (name === removed || name.startsWith(`${removed}.`)) all.delete(field);
          }
        } else all.add(entry);
      }
    }
    all.add("id");
  }
  const fields = new Set<string>();
  const starFields = new Set<string>();
  for (const field of all) {
    if (field.startsWith("*") || field.endsWith(".*")) starFields.add(field.replace(starMarker, ""));
    else fields.add(field);
  }
  for (const set of [fields, starFields]) for (const field of set) if (!config.allowed.has(field)) set.delete(field);
  const tooDeep = [...fields, ...[...starFields].map((field) => `${field}.*`)].filter((field) => relationsDepth(field) > relationsLimit);
  if (tooDeep.length > 0) {
    throw StoreError.invalidData(`The following fields expand more than the maximum of ${relationsLimit} allowed relations: ${tooDeep.join(", ")}`);
  }
  return { fields, starFields };
}

/** A selection as a tree: a node is taken whole when a path ends at it or selects it with a star. */
interface SelectionNode {
  whole: boolean;
  readonly children: Map<string, SelectionNode>;
}

function selectionTree(selection: FieldSelection): SelectionNode {
  const root: SelectionNode = { whole: false, children: new Map() };
  for (const path of [...selection.fields, ...selection.starFields]) {
    let node = root;
    for (const segment of path.split(".")) {
      let child = node.children.get(segment);
      if (!child) node.children.set(segment, (child = { whole: false, children: new Map() }));
      node = child;
    }
    node.whole = true;
  }
  return root;
}

/**
 * The parts of a complete response object that `selection` names. Unknown
 * names select nothing; a relation keeps its `id`, as Medusa's queries always
 * read primary keys.
 */
export function project(object: JsonObject, selection: FieldSelection): JsonObject {
  return projectObject(object, selectionTree(selection));
}

function projectObject(object: JsonObject, node: SelectionNode): JsonObject {
  const result: JsonObject = {};
  if (object.id !== undefined) result.id = object.id;
  for (const [name, child] of node.children) {
    const value = object[name];
    if (value === undefined) continue;
    result[name] = child.whole ? value : projectValue(value, child);
  }
  return result;
}

function projectValue(value: JsonValue, node: SelectionNode): JsonValue {
  if (Array.isArray(value)) return value.map((element) => projectValue(element, node));
  if (value !== null && typeof value === "object") return projectObject(value, node);
  return value;
}
