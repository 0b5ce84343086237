// Prints a google.protobuf.FileDescriptorProto back to .proto source text.
//
// The goal is a file that compiles (buf/protoc) to the same structure: same
// names, numbers, types, labels, json names, oneofs, maps, ranges, reserved
// names, extensions and built-in options. Comments and source formatting are
// not in a descriptor and cannot be recovered. Custom options are stored as
// unknown fields on the *Options messages; they are printed only when a
// registry that knows the extension is passed, and silently dropped otherwise.
import {
  getExtension,
  isFieldSet,
  type DescEnum,
  type DescExtension,
  type DescField,
  type DescMessage,
  type Message,
  type Registry,
  ScalarType,
} from "@bufbuild/protobuf";
import { protoCamelCase } from "@bufbuild/protobuf/reflect";
import {
  Edition,
  EnumOptionsSchema,
  EnumValueOptionsSchema,
  ExtensionRangeOptionsSchema,
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FieldDescriptorProtoSchema,
  FieldOptionsSchema,
  FileOptionsSchema,
  MessageOptionsSchema,
  MethodOptionsSchema,
  OneofOptionsSchema,
  ServiceOptionsSchema,
  SymbolVisibility,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
  type ServiceDescriptorProto,
} from "@bufbuild/protobuf/wkt";

export interface PrintProtoOptions {
  /** Used to decode custom options (e.g. `(buf.validate.field)`); without it they are omitted. */
  registry?: Registry;
}

const MAX_FIELD_NUMBER = 536870911;
const MAX_ENUM_NUMBER = 2147483647;
const INDENT = "  ";

type AnyMessage = Message & Record<string, unknown>;

export function printProto(file: FileDescriptorProto, opts: PrintProtoOptions = {}): string {
  const editions = file.syntax === "editions";
  const proto3 = file.syntax === "proto3";
  const registry = opts.registry;

  // --- Name resolution -----------------------------------------------------
  // Type references are printed as short as possible, but only when protoc's
  // scoping rules resolve the short form back to the same fully-qualified
  // name. "aggregate" symbols (packages, messages, enums, services) can be
  // descended into; others (fields, enum values, ...) only shadow.
  const symbols = new Map<string, "aggregate" | "leaf">();
  const addName = (fq: string, kind: "aggregate" | "leaf") => {
    const parts = fq.split(".");
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join(".");
      if (!symbols.has(prefix)) symbols.set(prefix, "aggregate");
    }
    if (symbols.get(fq) !== "aggregate") symbols.set(fq, kind);
  };
  const join = (scope: string, name: string) => (scope ? `${scope}.${name}` : name);

  const collectMessage = (m: DescriptorProto, scope: string) => {
    const fq = join(scope, m.name);
    addName(fq, "aggregate");
    for (const f of m.field) addName(join(fq, f.name), "leaf");
    for (const o of m.oneofDecl) addName(join(fq, o.name), "leaf");
    for (const x of m.extension) addName(join(fq, x.name), "leaf");
    for (const e of m.enumType) collectEnum(e, fq);
    for (const n of m.nestedType) collectMessage(n, fq);
  };
  const collectEnum = (e: EnumDescriptorProto, scope: string) => {
    addName(join(scope, e.name), "aggregate");
    // Enum values are siblings of their enum (C++ scoping).
    for (const v of e.value) addName(join(scope, v.name), "leaf");
  };
  if (file.package) addName(file.package, "aggregate");
  file.messageType.forEach((m) => collectMessage(m, file.package));
  file.enumType.forEach((e) => collectEnum(e, file.package));
  for (const x of file.extension) addName(join(file.package, x.name), "leaf");
  for (const s of file.service) {
    addName(join(file.package, s.name), "aggregate");
    for (const m of s.method) addName(join(file.package, `${s.name}.${m.name}`), "leaf");
  }
  // Referenced names from imports exist too; register them so they resolve.
  const external = (names: string[]) => {
    for (const n of names) if (n.startsWith(".")) addName(n.slice(1), "aggregate");
  };
  const visitRefs = (fields: FieldDescriptorProto[], nested: DescriptorProto[]) => {
    external(fields.flatMap((f) => [f.typeName, f.extendee]));
    for (const m of nested) visitRefs([...m.field, ...m.extension], m.nestedType);
  };
  visitRefs(file.extension, file.messageType);
  external(file.service.flatMap((s) => s.method.flatMap((m) => [m.inputType, m.outputType])));

  // Mirrors protoc's lookup: find the first name component walking scopes
  // outwards; non-aggregates are skipped when more components follow.
  const resolve = (name: string, scope: string): string | undefined => {
    const [first, ...rest] = name.split(".");
    const scopeParts = scope ? scope.split(".") : [];
    for (let i = scopeParts.length; i >= 0; i--) {
      const found = [...scopeParts.slice(0, i), first].join(".");
      const kind = symbols.get(found);
      if (kind === undefined) continue;
      if (rest.length === 0) return found;
      if (kind === "aggregate") {
        const full = [found, ...rest].join(".");
        return symbols.has(full) ? full : undefined;
      }
    }
    return undefined;
  };
  const ref = (typeName: string, scope: string): string => {
    const fq = typeName.replace(/^\./, "");
    if (!symbols.has(fq)) addName(fq, "aggregate");
    const parts = fq.split(".");
    for (let i = parts.length - 1; i >= 0; i--) {
      const candidate = parts.slice(i).join(".");
      if (resolve(candidate, scope) === fq) return candidate;
    }
    return `.${fq}`;
  };

  // --- Option values ---------------------------------------------------------
  // Each option becomes one or more `path = value` items; singular messages
  // are flattened into dotted paths (`features.field_presence = EXPLICIT`),
  // list elements repeat the path, and message list elements use the
  // text-format aggregate syntax.
  const rawValue = (msg: AnyMessage, f: DescField): unknown => {
    if (f.oneof) {
      const o = msg[f.oneof.localName] as { case?: string; value?: unknown };
      return o.case === f.localName ? o.value : undefined;
    }
    return msg[f.localName];
  };
  const isSet = (msg: AnyMessage, f: DescField) =>
    isFieldSet(msg as never, f) && rawValue(msg, f) !== undefined;
  const unknownExtensions = (desc: DescMessage, msg: AnyMessage): DescExtension[] => {
    const unknown = (msg.$unknown ?? []) as { no: number }[];
    const exts = new Map<number, DescExtension>();
    for (const u of unknown) {
      const ext = registry?.getExtensionFor(desc, u.no);
      if (ext) exts.set(u.no, ext);
    }
    return [...exts.values()];
  };

  // Text of one value; for lists and maps, of one element or map value.
  const valueText = (f: DescField | DescExtension, v: unknown, indent: string): string => {
    const kind = f.fieldKind === "list" ? f.listKind : f.fieldKind === "map" ? f.mapKind : f.fieldKind;
    if (kind === "message") return aggregate((f as { message: DescMessage }).message, v as AnyMessage, indent);
    if (kind === "enum") return enumName((f as { enum: DescEnum }).enum, v as number);
    return scalarText(v);
  };
  // All values of a field: one per list element / map entry.
  const valueTexts = (f: DescField | DescExtension, v: unknown, indent: string): string[] => {
    if (f.fieldKind === "list") return (v as unknown[]).map((el) => valueText(f, el, indent));
    if (f.fieldKind === "map") {
      return Object.entries(v as object).map(
        ([k, val]) => `{ key: ${f.mapKey === ScalarType.STRING ? quote(k) : k} value: ${valueText(f, val, indent)} }`,
      );
    }
    return [valueText(f, v, indent)];
  };

  // Text-format message literal, e.g. `{ id: "x" expression: "y" }`.
  const aggregate = (desc: DescMessage, msg: AnyMessage, indent: string): string => {
    const inner = indent + INDENT;
    const lines: string[] = [];
    for (const f of desc.fields) {
      if (!isSet(msg, f)) continue;
      for (const t of valueTexts(f, rawValue(msg, f), inner)) lines.push(`${inner}${f.name}: ${t}`);
    }
    for (const ext of unknownExtensions(desc, msg)) {
      for (const t of valueTexts(ext, getExtension(msg as never, ext), inner)) lines.push(`${inner}[${ext.typeName}]: ${t}`);
    }
    return lines.length === 0 ? "{}" : `{\n${lines.join("\n")}\n${indent}}`;
  };

  const flatten = (path: string, f: DescField | DescExtension, v: unknown, scope: string, indent: string): string[] => {
    if (f.fieldKind === "message") {
      const items = optionItems(f.message, v as AnyMessage, scope, indent, `${path}.`);
      return items.length > 0 ? items : [`${path} = {}`];
    }
    return valueTexts(f, v, indent).map((t) => `${path} = ${t}`);
  };

  function optionItems(
    desc: DescMessage,
    msg: AnyMessage | undefined,
    scope: string,
    indent: string,
    prefix = "",
    skip: string[] = [],
  ): string[] {
    if (!msg) return [];
    const items: string[] = [];
    for (const f of desc.fields) {
      // uninterpreted_option only exists before option resolution.
      if (f.name === "uninterpreted_option" || skip.includes(f.name) || !isSet(msg, f)) continue;
      items.push(...flatten(prefix + f.name, f, rawValue(msg, f), scope, indent));
    }
    for (const ext of unknownExtensions(desc, msg)) {
      const path = `${prefix}(${ref(ext.typeName, scope)})`;
      items.push(...flatten(path, ext, getExtension(msg as never, ext), scope, indent));
    }
    return items;
  }

  const optionStatements = (desc: DescMessage, msg: AnyMessage | undefined, scope: string, indent: string, skip?: string[]) =>
    optionItems(desc, msg, scope, indent, "", skip).map((o) => `${indent}option ${o};`);
  // Long or multi-line (aggregate) option lists put each option on its own
  // line; callers format the items at `indent + INDENT` for that case.
  const bracket = (items: string[], indent: string) => {
    if (items.length === 0) return "";
    const line = items.join(", ");
    if (line.length <= 80 && !line.includes("\n")) return ` [${line}]`;
    const inner = indent + INDENT;
    return ` [\n${inner}${items.join(`,\n${inner}`)}\n${indent}]`;
  };

  // --- Fields ----------------------------------------------------------------
  const scalarName = (t: Type) => Type[t].toLowerCase();

  const label = (f: FieldDescriptorProto, inOneof: boolean): string => {
    if (inOneof) return "";
    if (f.label === Label.REPEATED) return "repeated ";
    if (editions) return ""; // presence is expressed through features
    if (f.label === Label.REQUIRED) return "required ";
    if (proto3) return f.proto3Optional ? "optional " : "";
    return "optional ";
  };

  const fieldOptions = (f: FieldDescriptorProto, scope: string, indent: string, isExtension: boolean): string[] => {
    const items: string[] = [];
    if (isFieldSet(f, fieldDefault)) {
      const text =
        f.type === Type.STRING
          ? quote(f.defaultValue)
          : f.type === Type.BYTES
            ? `"${f.defaultValue}"` // descriptor already holds the C-escaped form
            : f.defaultValue;
      items.push(`default = ${text}`);
    }
    // protoc rejects json_name on extensions; buf still records one.
    if (!isExtension && isFieldSet(f, fieldJsonName) && f.jsonName !== protoCamelCase(f.name)) {
      items.push(`json_name = ${quote(f.jsonName)}`);
    }
    items.push(...optionItems(FieldOptionsSchema, f.options as AnyMessage | undefined, scope, indent));
    // Editions have no `required`/`group` keywords; make sure the equivalent
    // features are present even if the descriptor only carried label/type.
    if (editions && f.label === Label.REQUIRED && f.options?.features?.fieldPresence === undefined) {
      items.push("features.field_presence = LEGACY_REQUIRED");
    }
    if (editions && f.type === Type.GROUP && f.options?.features?.messageEncoding === undefined) {
      items.push("features.message_encoding = DELIMITED");
    }
    return items;
  };

  const typeText = (f: FieldDescriptorProto, scope: string) =>
    f.type === Type.MESSAGE || f.type === Type.ENUM || (editions && f.type === Type.GROUP)
      ? ref(f.typeName, scope)
      : scalarName(f.type);

  // Prints a field. `nested` are the sibling message types, needed for map
  // entries and (pre-editions) group bodies, which print inline.
  const printField = (
    f: FieldDescriptorProto,
    scope: string,
    nested: DescriptorProto[],
    indent: string,
    inOneof: boolean,
    isExtension: boolean,
  ): string[] => {
    const target = nested.find((n) => `.${join(scope, n.name)}` === f.typeName);
    const opts = bracket(fieldOptions(f, scope, indent + INDENT, isExtension), indent);
    if (target?.options?.mapEntry) {
      const entryScope = join(scope, target.name);
      const [k, v] = [1, 2].map((no) => typeText(target.field.find((x) => x.number === no)!, entryScope));
      return [`${indent}map<${k}, ${v}> ${f.name} = ${f.number}${opts};`];
    }
    if (f.type === Type.GROUP && !editions && target) {
      return [
        `${indent}${label(f, inOneof)}group ${target.name} = ${f.number}${opts} {`,
        ...messageBody(target, join(scope, target.name), indent + INDENT),
        `${indent}}`,
      ];
    }
    return [`${indent}${label(f, inOneof)}${typeText(f, scope)} ${f.name} = ${f.number}${opts};`];
  };

  // Consecutive extensions of the same extendee share one `extend` block.
  const printExtensions = (exts: FieldDescriptorProto[], scope: string, nested: DescriptorProto[], indent: string) => {
    const blocks: string[][] = [];
    let extendee: string | undefined;
    for (const x of exts) {
      if (x.extendee !== extendee) blocks.push([`${indent}extend ${ref(x.extendee, scope)} {`]);
      extendee = x.extendee;
      blocks.at(-1)!.push(...printField(x, scope, nested, indent + INDENT, false, true));
    }
    return blocks.map((b) => [...b, `${indent}}`]);
  };

  const rangeText = (start: number, endInclusive: number, max: number) =>
    start === endInclusive ? `${start}` : `${start} to ${endInclusive >= max ? "max" : endInclusive}`;
  // Editions 2023+ write reserved names as identifiers, older syntaxes as strings.
  const reservedNames = (names: string[], indent: string) =>
    names.length > 0 ? [`${indent}reserved ${names.map((n) => (editions ? n : quote(n))).join(", ")};`] : [];

  // --- Messages, enums, services ---------------------------------------------
  function messageBody(m: DescriptorProto, fq: string, indent: string): string[] {
    const out = optionStatements(MessageOptionsSchema, m.options as AnyMessage | undefined, fq, indent, ["map_entry"]);
    // Map entries and (pre-editions) group types are printed with their field.
    const inlineIndex = (f: FieldDescriptorProto) => {
      const i = m.nestedType.findIndex((n) => `.${join(fq, n.name)}` === f.typeName);
      const t = m.nestedType[i];
      return t && (t.options?.mapEntry || (f.type === Type.GROUP && !editions)) ? i : -1;
    };
    const inline = new Set([...m.field, ...m.extension].map(inlineIndex));
    // The compiler adds those types where their field is declared, so other
    // nested messages that precede them are printed first to keep the order.
    let nextNested = 0;
    const flushNested = (upTo: number) => {
      for (; nextNested < upTo; nextNested++) {
        if (!inline.has(nextNested)) out.push(...printMessage(m.nestedType[nextNested]!, fq, indent));
      }
    };
    const oneofOf = (f: FieldDescriptorProto) =>
      isFieldSet(f, fieldOneofIndex) && !f.proto3Optional ? f.oneofIndex : undefined;
    const printedOneofs = new Set<number>();
    for (const f of m.field) {
      const oneofIndex = oneofOf(f);
      if (oneofIndex === undefined) {
        flushNested(inlineIndex(f));
        out.push(...printField(f, fq, m.nestedType, indent, false, false));
        continue;
      }
      // A oneof is printed once, at the position of its first member.
      if (printedOneofs.has(oneofIndex)) continue;
      printedOneofs.add(oneofIndex);
      const members = m.field.filter((x) => oneofOf(x) === oneofIndex);
      flushNested(Math.max(...members.map(inlineIndex)));
      const oneof = m.oneofDecl[oneofIndex]!;
      out.push(`${indent}oneof ${oneof.name} {`);
      out.push(...optionStatements(OneofOptionsSchema, oneof.options as AnyMessage | undefined, fq, indent + INDENT));
      for (const member of members) out.push(...printField(member, fq, m.nestedType, indent + INDENT, true, false));
      out.push(`${indent}}`);
    }
    for (const e of m.enumType) out.push(...printEnum(e, fq, indent));
    flushNested(m.nestedType.length);
    out.push(...printExtensions(m.extension, fq, m.nestedType, indent).flat());
    for (const r of m.extensionRange) {
      const opts = optionItems(ExtensionRangeOptionsSchema, r.options as AnyMessage | undefined, fq, indent + INDENT);
      out.push(`${indent}extensions ${rangeText(r.start, r.end - 1, MAX_FIELD_NUMBER)}${bracket(opts, indent)};`);
    }
    if (m.reservedRange.length > 0) {
      const ranges = m.reservedRange.map((r) => rangeText(r.start, r.end - 1, MAX_FIELD_NUMBER));
      out.push(`${indent}reserved ${ranges.join(", ")};`);
    }
    out.push(...reservedNames(m.reservedName, indent));
    return out;
  }

  function printMessage(m: DescriptorProto, scope: string, indent: string): string[] {
    const body = messageBody(m, join(scope, m.name), indent + INDENT);
    return [`${indent}${visibility(m.visibility)}message ${m.name} {`, ...body, `${indent}}`];
  }

  function printEnum(e: EnumDescriptorProto, scope: string, indent: string): string[] {
    const fq = join(scope, e.name);
    const inner = indent + INDENT;
    const out = [`${indent}${visibility(e.visibility)}enum ${e.name} {`];
    out.push(...optionStatements(EnumOptionsSchema, e.options as AnyMessage | undefined, fq, inner));
    for (const v of e.value) {
      const opts = optionItems(EnumValueOptionsSchema, v.options as AnyMessage | undefined, fq, inner + INDENT);
      out.push(`${inner}${v.name} = ${v.number}${bracket(opts, inner)};`);
    }
    // Enum reserved ranges are inclusive, unlike message ranges.
    if (e.reservedRange.length > 0) {
      out.push(`${inner}reserved ${e.reservedRange.map((r) => rangeText(r.start, r.end, MAX_ENUM_NUMBER)).join(", ")};`);
    }
    out.push(...reservedNames(e.reservedName, inner), `${indent}}`);
    return out;
  }

  function printService(s: ServiceDescriptorProto, indent: string): string[] {
    const fq = join(file.package, s.name);
    const inner = indent + INDENT;
    const out = [`${indent}service ${s.name} {`];
    out.push(...optionStatements(ServiceOptionsSchema, s.options as AnyMessage | undefined, fq, inner));
    for (const m of s.method) {
      const input = `${m.clientStreaming ? "stream " : ""}${ref(m.inputType, fq)}`;
      const output = `${m.serverStreaming ? "stream " : ""}${ref(m.outputType, fq)}`;
      const opts = optionStatements(MethodOptionsSchema, m.options as AnyMessage | undefined, fq, inner + INDENT);
      const head = `${inner}rpc ${m.name}(${input}) returns (${output})`;
      // An empty body `{}` still yields an (empty) options message; keep it.
      out.push(...(opts.length > 0 ? [`${head} {`, ...opts, `${inner}}`] : m.options ? [`${head} {}`] : [`${head};`]));
    }
    out.push(`${indent}}`);
    return out;
  }

  // --- File ------------------------------------------------------------------
  const sections: string[][] = [];
  sections.push([
    editions ? `edition = "${Edition[file.edition].replace(/^EDITION_/, "")}";` : `syntax = "${proto3 ? "proto3" : "proto2"}";`,
  ]);
  if (file.package) sections.push([`package ${file.package};`]);
  const imports = file.dependency.map((d, i) => {
    const kind = file.publicDependency.includes(i) ? "public " : file.weakDependency.includes(i) ? "weak " : "";
    return `import ${kind}${quote(d)};`;
  });
  imports.push(...file.optionDependency.map((d) => `import option ${quote(d)};`));
  sections.push(imports);
  sections.push(optionStatements(FileOptionsSchema, file.options as AnyMessage | undefined, file.package, ""));
  for (const e of file.enumType) sections.push(printEnum(e, file.package, ""));
  for (const m of file.messageType) sections.push(printMessage(m, file.package, ""));
  sections.push(...printExtensions(file.extension, file.package, [], ""));
  for (const s of file.service) sections.push(printService(s, ""));
  return `${sections
    .filter((s) => s.length > 0)
    .map((s) => s.join("\n"))
    .join("\n\n")}\n`;
}

// Field descriptors used with isFieldSet to tell "unset" from zero values.
const fieldDefault = FieldDescriptorProtoSchema.field.defaultValue;
const fieldJsonName = FieldDescriptorProtoSchema.field.jsonName;
const fieldOneofIndex = FieldDescriptorProtoSchema.field.oneofIndex;

// With allow_alias several names share a number; the first one is canonical.
function enumName(e: DescEnum, n: number): string {
  return e.values.find((v) => v.number === n)?.name ?? String(n);
}

// Edition 2024 `export`/`local` keywords.
function visibility(v: SymbolVisibility): string {
  return v === SymbolVisibility.VISIBILITY_LOCAL ? "local " : v === SymbolVisibility.VISIBILITY_EXPORT ? "export " : "";
}

function scalarText(v: unknown): string {
  if (typeof v === "string") return quote(v);
  if (v instanceof Uint8Array) return quoteBytes(v);
  if (typeof v === "number" && !Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  return String(v); // booleans, numbers, bigint
}

// Proto string literal; non-ASCII is kept as UTF-8, control chars are escaped.
function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += `\\${c.toString(8).padStart(3, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

function quoteBytes(b: Uint8Array): string {
  let out = '"';
  for (const c of b) {
    if (c === 0x22 || c === 0x5c) out += `\\${String.fromCharCode(c)}`;
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\${c.toString(8).padStart(3, "0")}`;
  }
  return `${out}"`;
}
