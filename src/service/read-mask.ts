import type { DescField, DescMessage, JsonObject, JsonValue, MessageShape } from "@bufbuild/protobuf";
import { reflect, type ReflectList, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import type { FieldMask } from "@bufbuild/protobuf/wkt";
import { invalidField } from "./errors.js";

/** How many unknown paths a refusal names. */
const namedUnknownPaths = 5;

/** What a mask keeps of a message: every field ("all"), or some fields, each with what it keeps of its value. */
type Selection = "all" | Map<string, Selection>;

/**
 * A read mask (AIP-157) checked against the message it selects from. Paths
 * are proto field names, dotted into singular and repeated message fields
 * (`items.product_id` selects the product id of every item); `*`, alone or as
 * the last part of a path, selects everything there. An unset or empty mask
 * selects everything.
 */
export class ReadMask<Desc extends DescMessage> {
  private constructor(
    private readonly schema: Desc,
    private readonly selection: Selection,
  ) {}

  /**
   * The mask `mask` gives for messages of `schema`; refuses unknown paths
   * with INVALID_ARGUMENT naming them, as a violation of `fieldName`.
   */
  static parse<Desc extends DescMessage>(schema: Desc, mask: FieldMask | undefined, fieldName = "read_mask"): ReadMask<Desc> {
    const paths = mask?.paths ?? [];
    if (paths.length === 0) return new ReadMask(schema, "all");
    let selection: Selection = new Map();
    const unknown: string[] = [];
    for (const path of paths) {
      const fields = resolvePath(schema, path);
      if (fields) selection = widen(selection, fields.map((field) => field.name));
      else unknown.push(path);
    }
    if (unknown.length > 0) {
      // The first few, each cut short: a mask of thousands of unknown paths must not make an error of as many.
      const named = unknown.slice(0, namedUnknownPaths).map((path) => JSON.stringify(path.length > 64 ? `${path.slice(0, 64)}…` : path));
      const more = unknown.length > namedUnknownPaths ? ` and ${unknown.length - namedUnknownPaths} more` : "";
      throw invalidField(
        fieldName,
        `${fieldName}.known_paths`,
        `unknown field ${unknown.length === 1 ? "path" : "paths"} ${named.join(", ")}${more} in ${schema.typeName}`,
      );
    }
    return new ReadMask(schema, selection);
  }

  /** Whether the mask keeps everything (it is unset, empty or `*`). */
  get selectsAll(): boolean {
    return this.selection === "all";
  }

  /** Whether the mask keeps anything of at least one of these top-level fields (proto names). */
  selectsAny(fieldNames: readonly string[]): boolean {
    const { selection } = this;
    return selection === "all" || fieldNames.some((name) => selection.has(name));
  }

  /** Clears every field of `message` that the mask does not keep, in place; returns `message`. */
  apply(message: MessageShape<Desc>): MessageShape<Desc> {
    if (this.selection !== "all") prune(reflect(this.schema, message), this.selection);
    return message;
  }

  /**
   * The proto JSON (proto field names) of a message of this type with only
   * the selected keys, so that fields the mask left out do not show as zero
   * values where JSON emits implicit fields; selected fields keep theirs.
   */
  applyToJson(json: JsonObject): JsonObject {
    return this.selection === "all" ? json : pruneJson(json, this.selection);
  }
}

/**
 * The fields a path names, outermost first; undefined when a part names no
 * field. A trailing `*` stands for the field before it, or alone for the
 * whole message (no fields).
 */
function resolvePath(schema: DescMessage, path: string): DescField[] | undefined {
  const parts = path.split(".");
  if (parts.at(-1) === "*") parts.pop();
  const fields: DescField[] = [];
  let current: DescMessage | undefined = schema;
  for (const name of parts) {
    const field: DescField | undefined = current?.fields.find((candidate) => candidate.name === name);
    if (!field) return undefined;
    fields.push(field);
    current = innerSchema(field);
  }
  return fields;
}

/** `selection` keeping also everything under the field path `names`. */
function widen(selection: Selection, names: readonly string[]): Selection {
  if (selection === "all" || names.length === 0) return "all";
  const [name, ...rest] = names as [string, ...string[]];
  selection.set(name, widen(selection.get(name) ?? new Map(), rest));
  return selection;
}

/** The message type a path may continue into: that of a singular or repeated message field. */
function innerSchema(field: DescField): DescMessage | undefined {
  if (field.fieldKind === "message") return field.message;
  if (field.fieldKind === "list" && field.listKind === "message") return field.message;
  return undefined;
}

function prune(message: ReflectMessage, selection: Map<string, Selection>): void {
  for (const field of message.fields) {
    const kept = selection.get(field.name);
    if (kept === undefined) {
      message.clear(field);
    } else if (kept !== "all") {
      if (field.fieldKind === "message" && message.isSet(field)) prune(message.get(field), kept);
      if (field.fieldKind === "list" && field.listKind === "message") {
        for (const item of message.get(field) as ReflectList<ReflectMessage>) prune(item, kept);
      }
    }
  }
}

function pruneJson(json: JsonObject, selection: Map<string, Selection>): JsonObject {
  const kept: JsonObject = {};
  for (const [name, inner] of selection) {
    const value = json[name];
    if (value !== undefined) kept[name] = inner === "all" ? value : pruneJsonValue(value, inner);
  }
  return kept;
}

/** Lists are pruned element by element; a message whose JSON is no object (a Timestamp's string) stays whole. */
function pruneJsonValue(value: JsonValue, selection: Map<string, Selection>): JsonValue {
  if (Array.isArray(value)) return value.map((element) => pruneJsonValue(element, selection));
  return value !== null && typeof value === "object" ? pruneJson(value, selection) : value;
}
