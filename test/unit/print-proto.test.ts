import { create, createRegistry } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { describe, expect, it } from "vitest";
import { printProto } from "../../scripts/print-proto.js";

describe("printProto", () => {
  it("prints a proto3 file with messages, enums, oneofs, maps, optional and extensions", () => {
    const file = create(FileDescriptorProtoSchema, {
      name: "demo/v1/demo.proto",
      package: "demo.v1",
      syntax: "proto3",
      dependency: ["google/protobuf/descriptor.proto", "google/protobuf/timestamp.proto"],
      enumType: [
        {
          name: "Color",
          value: [
            { name: "COLOR_UNSPECIFIED", number: 0 },
            { name: "COLOR_RED", number: 1, options: { deprecated: true } },
          ],
        },
      ],
      messageType: [
        {
          name: "Order",
          field: [
            { name: "order_id", number: 1, label: Label.OPTIONAL, type: Type.STRING, jsonName: "orderId" },
            { name: "status", number: 2, label: Label.OPTIONAL, type: Type.ENUM, typeName: ".demo.v1.Order.Status" },
            { name: "items", number: 3, label: Label.REPEATED, type: Type.MESSAGE, typeName: ".demo.v1.Order.Item" },
            {
              name: "labels",
              number: 4,
              label: Label.REPEATED,
              type: Type.MESSAGE,
              typeName: ".demo.v1.Order.LabelsEntry",
            },
            { name: "note", number: 5, label: Label.OPTIONAL, type: Type.STRING, oneofIndex: 1, proto3Optional: true },
            { name: "card", number: 6, label: Label.OPTIONAL, type: Type.STRING, oneofIndex: 0 },
            { name: "cash_cents", number: 7, label: Label.OPTIONAL, type: Type.INT64, oneofIndex: 0 },
            { name: "legacy", number: 8, label: Label.OPTIONAL, type: Type.STRING, jsonName: "old", options: { deprecated: true } },
            { name: "color", number: 9, label: Label.OPTIONAL, type: Type.ENUM, typeName: ".demo.v1.Color" },
            {
              name: "created_at",
              number: 10,
              label: Label.OPTIONAL,
              type: Type.MESSAGE,
              typeName: ".google.protobuf.Timestamp",
            },
          ],
          nestedType: [
            {
              name: "Item",
              field: [
                { name: "sku", number: 1, label: Label.OPTIONAL, type: Type.STRING },
                { name: "weights", number: 2, label: Label.REPEATED, type: Type.INT32, options: { packed: false } },
              ],
            },
            {
              name: "LabelsEntry",
              options: { mapEntry: true },
              field: [
                { name: "key", number: 1, label: Label.OPTIONAL, type: Type.STRING },
                { name: "value", number: 2, label: Label.OPTIONAL, type: Type.MESSAGE, typeName: ".demo.v1.Order.Item" },
              ],
            },
          ],
          enumType: [
            {
              name: "Status",
              value: [
                { name: "STATUS_UNSPECIFIED", number: 0 },
                { name: "STATUS_OPEN", number: 1 },
              ],
              reservedRange: [{ start: 5, end: 9 }],
              reservedName: ["STATUS_OLD"],
            },
          ],
          oneofDecl: [{ name: "payment" }, { name: "_note" }],
          reservedRange: [
            { start: 11, end: 12 },
            { start: 20, end: 30 },
          ],
          reservedName: ["old_field"],
        },
      ],
      extension: [
        {
          name: "sensitive",
          number: 50001,
          label: Label.OPTIONAL,
          type: Type.BOOL,
          extendee: ".google.protobuf.FieldOptions",
        },
      ],
    });

    // Item precedes the map entry in nestedType, so it is declared before the
    // map field to keep the compiled order.
    expect(printProto(file)).toBe(`syntax = "proto3";

package demo.v1;

import "google/protobuf/descriptor.proto";
import "google/protobuf/timestamp.proto";

enum Color {
  COLOR_UNSPECIFIED = 0;
  COLOR_RED = 1 [deprecated = true];
}

message Order {
  string order_id = 1;
  Status status = 2;
  repeated Item items = 3;
  message Item {
    string sku = 1;
    repeated int32 weights = 2 [packed = false];
  }
  map<string, Item> labels = 4;
  optional string note = 5;
  oneof payment {
    string card = 6;
    int64 cash_cents = 7;
  }
  string legacy = 8 [json_name = "old", deprecated = true];
  Color color = 9;
  google.protobuf.Timestamp created_at = 10;
  enum Status {
    STATUS_UNSPECIFIED = 0;
    STATUS_OPEN = 1;
    reserved 5 to 9;
    reserved "STATUS_OLD";
  }
  reserved 11, 20 to 29;
  reserved "old_field";
}

extend google.protobuf.FieldOptions {
  bool sensitive = 50001;
}
`);
  });

  it("prints proto2 labels, defaults, extension ranges and nested extend blocks", () => {
    const file = create(FileDescriptorProtoSchema, {
      name: "legacy.proto",
      package: "legacy",
      messageType: [
        {
          name: "Base",
          field: [
            { name: "id", number: 1, label: Label.REQUIRED, type: Type.INT64 },
            { name: "name", number: 2, label: Label.OPTIONAL, type: Type.STRING, defaultValue: 'a "b"' },
            { name: "tags", number: 3, label: Label.REPEATED, type: Type.STRING },
          ],
          extension: [
            {
              name: "extra",
              number: 100,
              label: Label.OPTIONAL,
              type: Type.MESSAGE,
              typeName: ".legacy.Base",
              extendee: ".legacy.Base",
            },
          ],
          extensionRange: [{ start: 100, end: 536870912 }],
        },
      ],
    });

    expect(printProto(file)).toBe(`syntax = "proto2";

package legacy;

message Base {
  required int64 id = 1;
  optional string name = 2 [default = "a \\"b\\""];
  repeated string tags = 3;
  extend Base {
    optional Base extra = 100;
  }
  extensions 100 to max;
}
`);
  });

  it("regenerates buf/validate/validate.proto from the protovalidate descriptor", () => {
    const proto = file_buf_validate_validate.proto;
    const field = proto.extension.find((x) => x.name === "field");
    expect(field?.number).toBe(1159);

    const text = printProto(proto, { registry: createRegistry(file_buf_validate_validate) });
    expect(text).toMatch(/^syntax = "proto2";\n\npackage buf\.validate;\n/);
    expect(text).toContain("message FieldRules {");
    expect(text).toContain("extend google.protobuf.FieldOptions {");
    expect(text).toContain(`  optional FieldRules field = ${field?.number};`);
    expect(text).toContain("  optional PredefinedRules predefined = 1160;");
    expect(text).toContain("extend google.protobuf.MessageOptions {\n  optional MessageRules message = 1159;\n}");
    // Predefined rule CEL comes from custom options and needs the registry.
    expect(text).toContain('id: "string.min_len"');
    expect(printProto(proto)).not.toContain("(predefined)");
  });
});
