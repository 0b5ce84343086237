import { create, createFileRegistry, type DescMethod, type DescService, type MessageInitShape, setExtension } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  type FieldDescriptorProtoSchema,
  FileDescriptorProtoSchema,
  file_google_protobuf_field_mask,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
  MethodOptionsSchema,
} from "@bufbuild/protobuf/wkt";
import { protoCamelCase } from "@bufbuild/protobuf/reflect";
import { http } from "../../gen/google/api/annotations_pb.js";
import { HttpRuleSchema } from "../../gen/google/api/http_pb.js";

/**
 * A made-up service, built as descriptors, that uses every shape of
 * `google.api.http` rule and every kind of field the REST transcoder handles
 * — more than the real API needs — so that its tests show the transcoder is
 * general. Its source info carries two comments, for the OpenAPI generator.
 */

type FieldInit = MessageInitShape<typeof FieldDescriptorProtoSchema>;

function field(name: string, number: number, type: Type, extra: { label?: Label; typeName?: string } = {}): FieldInit {
  return { name, number, type, label: Label.OPTIONAL, jsonName: protoCamelCase(name), ...extra };
}

const repeated = { label: Label.REPEATED };

export type HttpRuleInit = MessageInitShape<typeof HttpRuleSchema>;

function method([name, rule]: readonly [string, HttpRuleInit | undefined]) {
  const options = create(MethodOptionsSchema);
  if (rule) setExtension(options, http, create(HttpRuleSchema, rule));
  return { name, inputType: ".test.rest.Thing", outputType: ".test.rest.Thing", options };
}

/** The default methods of ThingService: one per kind of binding. */
const thingMethods: [string, HttpRuleInit | undefined][] = [
  ["GetThing", { pattern: { case: "get", value: "/v1/things/{id}" }, additionalBindings: [{ pattern: { case: "get", value: "/v1/{shelf=shelves/*}/things/{id}" } }] }],
  ["ListThings", { pattern: { case: "get", value: "/v1/things" } }],
  ["CreateThing", { pattern: { case: "post", value: "/v1/things" }, body: "*" }],
  ["UpdateThing", { pattern: { case: "patch", value: "/v1/things/{id}" }, body: "inner", responseBody: "inner" }],
  ["RenameThing", { pattern: { case: "post", value: "/v1/things/{inner.name}:rename" }, body: "*" }],
  ["FindThings", { pattern: { case: "get", value: "/v1/{shelf=shelves/**}:find" } }],
  ["TouchThing", { pattern: { case: "custom", value: { kind: "TOUCH", path: "/v1/things/{id}" } } }],
  ["Unbound", undefined],
];

/** ThingService with the given methods (all taking and returning Thing). */
export function thingService(methods: readonly (readonly [string, HttpRuleInit | undefined])[] = thingMethods): DescService {
  const file = create(FileDescriptorProtoSchema, {
  name: "test/rest/things.proto",
  package: "test.rest",
  syntax: "proto3",
  dependency: ["google/protobuf/timestamp.proto", "google/protobuf/field_mask.proto", "google/protobuf/wrappers.proto"],
  enumType: [
    {
      name: "Color",
      value: [
        { name: "COLOR_UNSPECIFIED", number: 0 },
        { name: "COLOR_RED", number: 1 },
        { name: "COLOR_BLUE", number: 2 },
      ],
    },
  ],
  messageType: [
    { name: "Inner", field: [field("name", 1, Type.STRING), field("count", 2, Type.INT64), field("deep", 3, Type.MESSAGE, { typeName: ".test.rest.Inner" })] },
    {
      name: "Thing",
      field: [
        field("id", 1, Type.STRING),
        field("inner", 2, Type.MESSAGE, { typeName: ".test.rest.Inner" }),
        field("tags", 3, Type.STRING, repeated),
        field("color", 4, Type.ENUM, { typeName: ".test.rest.Color" }),
        field("colors", 5, Type.ENUM, { typeName: ".test.rest.Color", ...repeated }),
        field("at", 6, Type.MESSAGE, { typeName: ".google.protobuf.Timestamp" }),
        field("mask", 7, Type.MESSAGE, { typeName: ".google.protobuf.FieldMask" }),
        field("limit", 8, Type.MESSAGE, { typeName: ".google.protobuf.Int32Value" }),
        field("flag", 9, Type.BOOL),
        field("big", 10, Type.INT64),
        field("ratio", 11, Type.DOUBLE),
        field("labels", 12, Type.MESSAGE, { typeName: ".test.rest.Thing.LabelsEntry", ...repeated }),
        field("inners", 13, Type.MESSAGE, { typeName: ".test.rest.Inner", ...repeated }),
        field("shelf", 14, Type.STRING),
        field("wanted", 15, Type.MESSAGE, { typeName: ".google.protobuf.BoolValue" }),
        field("display_name", 16, Type.STRING),
      ],
      nestedType: [
        { name: "LabelsEntry", field: [field("key", 1, Type.STRING), field("value", 2, Type.STRING)], options: { mapEntry: true } },
      ],
    },
  ],
  service: [{ name: "ThingService", method: methods.map(method) }],
  sourceCodeInfo: {
    location: [
      { path: [6, 0], span: [0, 0, 0], leadingComments: " Things to test the transcoder with.\n" },
      { path: [4, 1, 2, 0], span: [0, 0, 0], leadingComments: " The thing's id.\n Any text.\n" },
    ],
  },
});

  const dependencies = [file_google_protobuf_timestamp, file_google_protobuf_field_mask, file_google_protobuf_wrappers];
  const registry = createFileRegistry(file, (name) => dependencies.find((dependency) => `${dependency.name}.proto` === name));
  return registry.getService("test.rest.ThingService")!;
}

export const ThingService = thingService();
export const ThingSchema = ThingService.methods[0]!.input;

/** The method of ThingService with this name. */
export function thingMethod(name: string): DescMethod {
  return ThingService.methods.find((candidate) => candidate.name === name)!;
}
