import { create, createFileRegistry, type JsonObject, type Message, type MessageInitShape, toJson } from "@bufbuild/protobuf";
import { protoCamelCase } from "@bufbuild/protobuf/reflect";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  type FieldDescriptorProtoSchema,
  file_google_protobuf_field_mask,
  FileDescriptorProtoSchema,
  timestampFromDate,
} from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { CartSchema, CartStatus } from "../../gen/commerce/cart/v1/cart_pb.js";
import { CartService, type GetCartRequest, type ListCartsRequest } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { ReadMask } from "../../src/service/read-mask.js";
import { applyReadMask, readMaskBinding } from "../../src/transport/rest/read-mask.js";
import { decodeRequest } from "../../src/transport/rest/request.js";
import { responseJson } from "../../src/transport/rest/response.js";
import { httpBindings, RouteTable } from "../../src/transport/rest/routes.js";

const cartRoutes = new RouteTable(CartService.methods.flatMap(httpBindings));
const createdAt = timestampFromDate(new Date("2030-01-01T00:00:00Z"));

const fullCart = (id: string) =>
  create(CartSchema, {
    id,
    customerId: "alice",
    status: CartStatus.ACTIVE,
    currency: "USD",
    items: [
      { id: "l1", productId: "mug", quantity: 2, unitPriceCents: 1299n, totals: { subtotal: 2598n, total: 2598n } },
      { id: "l2", productId: "tee", quantity: 1, unitPriceCents: 0n },
    ],
    subtotalCents: 2598n,
    totalCents: 2598n,
    email: "alice@example.com",
    itemQuantity: 3,
    createdAt,
    totals: { itemSubtotal: 2598n, subtotal: 2598n, total: 2598n },
  });

const emptyCart = (id: string) => create(CartSchema, { id, customerId: "alice", status: CartStatus.ACTIVE, currency: "USD", createdAt });

/** The REST answer to a GET on a cart route: the request decoded as the handler does, the carts masked as the service does. */
function restGet(target: string, carts = [fullCart("c1"), fullCart("c2")]) {
  const [path, query = ""] = target.split("?") as [string, string?];
  const match = cartRoutes.match("GET", path);
  if (match.kind !== "found") throw new Error(`no route for GET ${path}`);
  const request = decodeRequest(match.binding, match.variables, new URLSearchParams(query), "") as GetCartRequest | ListCartsRequest;
  const mask = ReadMask.parse(CartSchema, request.readMask);
  const masked = carts.map((cart) => mask.apply(cart));
  const response = create(match.binding.method.output, { cart: masked[0], carts: masked, nextPageToken: "next" });
  return responseJson(match.binding, request, response);
}

describe("REST responses under a read mask", () => {
  it("keep exactly the selected keys of the response_body resource, into each element of a list", () => {
    for (const query of [
      "read_mask=id,total_cents,items.product_id",
      "readMask=id,totalCents,items.productId",
      "read_mask=id&read_mask=total_cents,items.product_id",
    ]) {
      expect(restGet(`/v1/carts/c1?${query}`), query).toEqual({
        id: "c1",
        total_cents: "2598",
        items: [{ product_id: "mug" }, { product_id: "tee" }],
      });
    }
  });

  it("keep the zero values of selected fields", () => {
    expect(restGet("/v1/carts/c1?read_mask=total_cents,items,email,items.quantity", [emptyCart("c1")])).toEqual({
      total_cents: "0",
      items: [],
      email: "",
    });
    expect(restGet("/v1/carts/c1?read_mask=items.unit_price_cents")).toEqual({ items: [{ unit_price_cents: "1299" }, { unit_price_cents: "0" }] });
  });

  it("prune into singular messages, keep whole the JSON strings of well-known types and leave out unset messages", () => {
    expect(restGet("/v1/carts/c1?read_mask=totals.total,created_at,shipping_address,items.totals.total")).toEqual({
      totals: { total: "2598" },
      created_at: "2030-01-01T00:00:00Z",
      items: [{ totals: { total: "2598" } }, {}],
    });
  });

  it("keep everything for *, an empty mask or none", () => {
    const whole = toJson(CartSchema, fullCart("c1"), { useProtoFieldName: true, alwaysEmitImplicit: true }) as JsonObject;
    for (const query of ["read_mask=*", "read_mask=items.*,*", "read_mask=", ""]) {
      expect(restGet(`/v1/carts/c1?${query}`), query).toEqual(whole);
    }
    expect(restGet("/v1/carts/c1?read_mask=totals.*")).toEqual({ totals: whole.totals });
  });

  it("mask each resource of a list response and keep its other fields", () => {
    expect(restGet("/v1/carts?customer_id=alice&read_mask=id,items.quantity")).toEqual({
      carts: [
        { id: "c1", items: [{ quantity: 2 }, { quantity: 1 }] },
        { id: "c2", items: [{ quantity: 2 }, { quantity: 1 }] },
      ],
      next_page_token: "next",
    });
    expect(restGet("/v1/carts?customer_id=alice")).toMatchObject({ carts: [{ id: "c1", total_cents: "2598", email: "alice@example.com" }, { id: "c2" }] });
  });
});

type FieldInit = MessageInitShape<typeof FieldDescriptorProtoSchema>;
const field = (name: string, number: number, type: Type, extra: { label?: Label; typeName?: string } = {}): FieldInit => ({
  name,
  number,
  type,
  label: Label.OPTIONAL,
  jsonName: protoCamelCase(name),
  ...extra,
});
const books = (name: string, number: number) => field(name, number, Type.MESSAGE, { typeName: ".test.library.Book", label: Label.REPEATED });

/** A made-up API, as descriptors, whose responses hold resources in every shape readMaskBinding has to tell apart. */
const Library = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "test/library.proto",
    package: "test.library",
    syntax: "proto3",
    dependency: ["google/protobuf/field_mask.proto"],
    messageType: [
      { name: "Book", field: [field("id", 1, Type.STRING), field("title", 2, Type.STRING), field("pages", 3, Type.INT64)] },
      { name: "Author", field: [field("name", 1, Type.STRING), books("books", 2)] },
      { name: "MaskedRequest", field: [field("read_mask", 1, Type.MESSAGE, { typeName: ".google.protobuf.FieldMask" })] },
      { name: "TextMaskRequest", field: [field("read_mask", 1, Type.STRING)] },
      {
        name: "Shelf",
        field: [books("books", 1), books("featured", 2), field("tags", 3, Type.STRING, { label: Label.REPEATED }), field("next_page_token", 4, Type.STRING)],
      },
      { name: "BooksAndAuthors", field: [books("books", 1), field("authors", 2, Type.MESSAGE, { typeName: ".test.library.Author", label: Label.REPEATED })] },
      { name: "Count", field: [field("count", 1, Type.INT32)] },
    ],
    service: [
      {
        name: "LibraryService",
        method: [
          ["ListBooks", "MaskedRequest", "Shelf"],
          ["ListBooksByText", "TextMaskRequest", "Shelf"],
          ["ListBooksAndAuthors", "MaskedRequest", "BooksAndAuthors"],
          ["CountBooks", "MaskedRequest", "Count"],
        ].map(([name, input, output]) => ({ name, inputType: `.test.library.${input}`, outputType: `.test.library.${output}` })),
      },
    ],
  }),
  (name) => (name === "google/protobuf/field_mask.proto" ? file_google_protobuf_field_mask : undefined),
).getService("test.library.LibraryService")!;

const libraryMethod = (name: string) => Library.methods.find((method) => method.name === name)!;

describe("readMaskBinding", () => {
  it("finds the masked resource of the cart methods from their descriptors", () => {
    const [get] = httpBindings(CartService.method.getCart);
    expect(get!.readMask).toEqual({ maskField: get!.method.input.field.readMask, resource: CartSchema, resourceFields: [get!.method.output.field.cart] });
    const [list] = httpBindings(CartService.method.listCarts);
    expect(list!.readMask?.resourceFields).toEqual([list!.method.output.field.carts]);
    expect(list!.readMask?.resource).toBe(CartSchema);
    // update_mask is no read mask.
    for (const method of [CartService.method.createCart, CartService.method.updateCart]) expect(httpBindings(method)[0]!.readMask).toBeUndefined();
  });

  it("masks every repeated field of the resource type in a response without response_body, and nothing else", () => {
    const method = libraryMethod("ListBooks");
    const binding = readMaskBinding(method, undefined)!;
    expect(binding.resourceFields.map((resourceField) => resourceField.name)).toEqual(["books", "featured"]);
    const request: Message = create(method.input, { readMask: { paths: ["title"] } });
    const book = { id: "b1", title: "Dune", pages: "412" };
    const response: JsonObject = { books: [book, book], featured: [book], tags: ["new"], next_page_token: "t" };
    applyReadMask(binding, request, response);
    expect(response).toEqual({ books: [{ title: "Dune" }, { title: "Dune" }], featured: [{ title: "Dune" }], tags: ["new"], next_page_token: "t" });
  });

  it("takes the response_body field as the resource, even when it holds other resources", () => {
    const method = libraryMethod("ListBooksAndAuthors");
    const binding = readMaskBinding(method, method.output.field.authors)!;
    expect(binding.resource.typeName).toBe("test.library.Author");
    const response: JsonObject = { books: [{ id: "b1" }], authors: [{ name: "Herbert", books: [{ id: "b1", title: "Dune" }] }] };
    applyReadMask(binding, create(method.input, { readMask: { paths: ["books.title"] } }), response);
    expect(response).toEqual({ books: [{ id: "b1" }], authors: [{ books: [{ title: "Dune" }] }] });
  });

  it("ignores a read_mask that is no FieldMask", () => {
    expect(readMaskBinding(libraryMethod("ListBooksByText"), undefined)).toBeUndefined();
  });

  it("refuses responses in which the resource cannot be told", () => {
    expect(() => readMaskBinding(libraryMethod("ListBooksAndAuthors"), undefined)).toThrow(
      "test.library.LibraryService.ListBooksAndAuthors: cannot tell which message read_mask selects from: test.library.BooksAndAuthors has repeated fields of 2 message types; name the resource with response_body",
    );
    expect(() => readMaskBinding(libraryMethod("CountBooks"), undefined)).toThrow("test.library.Count has no repeated message field");
    const listBooks = libraryMethod("ListBooks");
    expect(() => readMaskBinding(listBooks, listBooks.output.field.nextPageToken)).toThrow('response_body "next_page_token" is no message field');
  });
});
