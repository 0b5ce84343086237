import { Code, type ConnectError, type UnaryRequest } from "@connectrpc/connect";
import type { JWTPayload } from "jose";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { PromotionTarget } from "../../gen/commerce/cart/v1/promotion_pb.js";
import { StoreConfigService } from "../../gen/commerce/cart/v1/store_config_service_pb.js";
import { errorMappingInterceptor } from "../../src/service/errors.js";
import { token } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { type GrpcJsClient, grpcJsClient } from "../support/grpc-js-client.js";
import { type Call, call, type Refusal, refusalOver, refusalOverGrpcJs } from "../support/refusals.js";
import { restCall } from "../support/rest-client.js";
import { violatedFields } from "../support/rpc-errors.js";
import { startServer, type TestServer } from "../support/server.js";

/**
 * Identities and input no client may smuggle in: a token whose `sub` is not
 * a plain customer id, strings PostgreSQL cannot store (a NUL character),
 * instants JavaScript and PostgreSQL cannot hold, on every protocol, each
 * refused with a message naming what is wrong and leaving the database as
 * it was; and map keys that are names of Object.prototype's members, kept.
 */

/** A customer whose id is also a number: a token with the numeric `sub` must not read its carts. */
const numericCustomer = "4242424242";
let server: TestServer;
let sql: postgres.Sql;
const grpcJsClients: GrpcJsClient[] = [];
const fixture = { cart: "" };

beforeAll(async () => {
  server = await startServer();
  sql = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
  const transport = connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!;
  await clientFor(CatalogService, transport).upsertProduct({
    product: { id: "text-mug", title: "Mug", active: true, prices: [{ currency: "USD", amountCents: 500n }] },
  });
  const carts = clientFor(CartService, transport);
  fixture.cart = (await carts.createCart({ customerId: "text-fixture" })).cart!.id;
  await carts.createCart({ customerId: numericCustomer });
});

afterAll(async () => {
  for (const client of grpcJsClients) client.close();
  await sql?.end();
  await server?.stop();
});

/** Everything these requests could have touched. */
async function snapshot() {
  const carts = await sql`
    select c.*, coalesce((select json_agg(l.* order by l.id) from line_items l where l.cart_id = c.id), '[]') as lines
    from carts c where c.customer_id like 'text-%' or c.customer_id = ${numericCustomer} order by c.id`;
  const products = await sql`select * from products where id like 'text-%' order by id`;
  return { carts, products };
}

/** Every RPC protocol, as a refusal carrying `token` (default: an admin). */
const rpcProtocols: [string, (token?: string) => Refusal][] = [
  ["@grpc/grpc-js (native gRPC)", (token) => refusalOverGrpcJs(server.port, grpcJsClients, token)],
  ...Object.keys(connectTransports("http://unused")).map(
    (name) => [name, (token?: string) => refusalOver(connectTransports(server.baseUrl, token)[name]!)] as [string, (token?: string) => Refusal],
  ),
];

/** A customer token (carts:read carts:write) whose `sub` is any JSON value. */
function tokenWithSubject(sub: unknown): Promise<string> {
  return token({ scope: "carts:read carts:write", claims: { sub } as JWTPayload });
}

const badSubjects: [string, unknown][] = [
  ["a number (the id of another customer's carts)", Number(numericCustomer)],
  ["true", true],
  ["an empty string", ""],
  ["a string with a NUL character", "text-\0sub"],
  ["a string with a line feed", "text-\nsub"],
  ["257 characters", `text-${"s".repeat(252)}`],
];

const subjectRefusal = /the token's "sub" claim must be a non-empty string of at most 256 characters without control characters/;

describe.each(rpcProtocols)("identities over %s", (_, refusalWith) => {
  it.each(badSubjects)("refuses a token whose sub is %s", async (_, sub) => {
    const before = await snapshot();
    const refuse = refusalWith(await tokenWithSubject(sub));
    const error = await refuse(call(CartService.method.listCarts, {}));
    expect({ code: Code[error.code], message: error.rawMessage }).toEqual({
      code: Code[Code.Unauthenticated],
      message: expect.stringMatching(subjectRefusal),
    });
    expect(await snapshot()).toEqual(before);
  });
});

describe("identities over REST", () => {
  it.each(badSubjects)("refuses a token whose sub is %s", async (_, sub) => {
    const before = await snapshot();
    const answer = await restCall(server.baseUrl, "GET", "/v1/carts", undefined, { authorization: `Bearer ${await tokenWithSubject(sub)}` });
    expect({ status: answer.status, error: answer.body.error, message: answer.body.message }).toEqual({
      status: 401,
      error: "unauthenticated",
      message: expect.stringMatching(subjectRefusal),
    });
    expect(await snapshot()).toEqual(before);
  });
});

interface BadText {
  readonly name: string;
  /** Built lazily: fixture ids exist only after beforeAll. */
  readonly call: () => Call;
  /** The same request over REST: method, path and JSON body. */
  readonly rest: () => [string, string, unknown?];
  /** The offending field as the error names it; its NUL character is refused. */
  readonly field: string;
}

const address = { name: "Ada", line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US" };

const badTexts: BadText[] = [
  {
    name: "NUL in customer_id",
    call: () => call(CartService.method.createCart, { customerId: "text-\0nul" }),
    rest: () => ["POST", "/v1/carts", { customer_id: "text-\0nul" }],
    field: "customer_id",
  },
  {
    name: "NUL in a metadata value",
    call: () => call(CartService.method.createCart, { customerId: "text-meta", metadata: { note: "gift\0wrap" } }),
    rest: () => ["POST", "/v1/carts", { customer_id: "text-meta", metadata: { note: "gift\0wrap" } }],
    field: 'metadata["note"]',
  },
  {
    name: "NUL in a metadata key",
    call: () => call(CartService.method.createCart, { customerId: "text-meta", metadata: { "no\0te": "gift" } }),
    rest: () => ["POST", "/v1/carts", { customer_id: "text-meta", metadata: { "no\0te": "gift" } }],
    field: "metadata",
  },
  {
    name: "NUL in an address line",
    call: () => call(CartService.method.createCart, { customerId: "text-address", shippingAddress: { ...address, line1: "1 Main\0St" } }),
    rest: () => ["POST", "/v1/carts", { customer_id: "text-address", shipping_address: { ...address, line1: "1 Main\0St" } }],
    field: "shipping_address.line1",
  },
  {
    name: "NUL in the product_id of a second initial item",
    call: () =>
      call(CartService.method.createCart, {
        customerId: "text-items",
        items: [
          { productId: "text-mug", quantity: 1 },
          { productId: "text-\0mug", quantity: 1 },
        ],
      }),
    rest: () => ["POST", "/v1/carts", { customer_id: "text-items", items: [{ product_id: "text-mug", quantity: 1 }, { product_id: "text-\0mug", quantity: 1 }] }],
    field: "items[1].product_id",
  },
  {
    name: "NUL in the customer_id filter of ListCarts",
    call: () => call(CartService.method.listCarts, { customerId: "text-\0" }),
    rest: () => ["GET", "/v1/carts?customer_id=text-%00"],
    field: "customer_id",
  },
  {
    name: "NUL in a metadata value on UpdateCart",
    call: () =>
      call(CartService.method.updateCart, { cart: { id: fixture.cart, metadata: { note: "\0" } }, updateMask: { paths: ["metadata"] } }),
    rest: () => ["PATCH", `/v1/carts/${fixture.cart}?update_mask=metadata`, { metadata: { note: "\0" } }],
    field: 'cart.metadata["note"]',
  },
  {
    name: "NUL in a product title",
    call: () =>
      call(CatalogService.method.upsertProduct, {
        product: { id: "text-mug", title: "Mug\0", active: true, prices: [{ currency: "USD", amountCents: 500n }] },
      }),
    rest: () => ["PUT", "/v1/products/text-mug", { title: "Mug\0", active: true, prices: [{ currency: "USD", amount_cents: "500" }] }],
    field: "product.title",
  },
];

const fieldNames = (field: string) => field.replace(/\[[^\]]*\]/g, "");

describe.each(rpcProtocols)("text over %s", (_, refusalWith) => {
  let refuse: Refusal;
  beforeAll(() => {
    refuse = refusalWith();
  });

  it.each(badTexts)("refuses $name", async (bad) => {
    const before = await snapshot();
    const error: ConnectError = await refuse(bad.call());
    expect({ code: Code[error.code], message: error.rawMessage }).toEqual({
      code: Code[Code.InvalidArgument],
      message: expect.stringContaining(`${bad.field}: must not contain the NUL character (U+0000)`),
    });
    expect(violatedFields(error)).toEqual([fieldNames(bad.field)]);
    expect(await snapshot()).toEqual(before);
  });
});

describe("text over REST", () => {
  it.each(badTexts)("refuses $name", async (bad) => {
    const before = await snapshot();
    const [method, path, body] = bad.rest();
    const answer = await restCall(server.baseUrl, method, path, body);
    expect({ status: answer.status, error: answer.body.error, message: answer.body.message }).toEqual({
      status: 400,
      error: "invalid_argument",
      message: expect.stringContaining(`${bad.field}: must not contain the NUL character (U+0000)`),
    });
    expect(answer.body.details).toEqual([expect.objectContaining({ field: bad.field })]);
    expect(await snapshot()).toEqual(before);
  });
});

describe("lone surrogates in JSON, which UTF-8 cannot carry", () => {
  it("are refused over Connect JSON, naming the field", async () => {
    const before = await snapshot();
    const refuse = refusalOver(connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!);
    const error = await refuse(call(CartService.method.createCart, { customerId: "text-\ud800" }));
    expect({ code: Code[error.code], message: error.rawMessage }).toEqual({
      code: Code[Code.InvalidArgument],
      message: expect.stringContaining("CreateCartRequest.customer_id"),
    });
    expect(await snapshot()).toEqual(before);
  });

  it("are refused over REST, naming the field", async () => {
    const before = await snapshot();
    const answer = await restCall(server.baseUrl, "POST", "/v1/carts", '{"customer_id": "text-\\ud800"}');
    expect({ status: answer.status, error: answer.body.error, message: answer.body.message }).toEqual({
      status: 400,
      error: "invalid_argument",
      message: expect.stringContaining("CreateCartRequest.customer_id"),
    });
    expect(await snapshot()).toEqual(before);
  });
});

describe("REST query strings", () => {
  it.each([
    ["a byte that is not UTF-8", "text-%FF"],
    ["an encoded lone surrogate", "text-%ED%A0%80"],
  ])("refuses %s, which would become U+FFFD", async (_, customerId) => {
    const answer = await restCall(server.baseUrl, "GET", `/v1/carts?customer_id=${customerId}`);
    expect({ status: answer.status, error: answer.body.error, message: answer.body.message }).toEqual({
      status: 400,
      error: "invalid_argument",
      message: "the query string is not valid UTF-8 once percent-decoded",
    });
  });

  it("takes UTF-8, a plus for a space, and a lone percent sign as they are", async () => {
    const answer = await restCall(server.baseUrl, "GET", "/v1/carts?customer_id=text-%C3%A9+100%");
    expect(answer.status).toBe(200);
  });
});

describe("instants outside the years 0001 to 9999", () => {
  const promotion = (startsAt: bigint) =>
    call(StoreConfigService.method.upsertPromotion, {
      promotion: { id: "text-promo", code: "TEXTPROMO", value: { case: "percentageBp", value: 1000 }, target: PromotionTarget.ORDER, startsAt: { seconds: startsAt } },
    });
  // Binary protocols only: a JSON encoder refuses such a Timestamp before it is sent.
  const binaryProtocols = rpcProtocols.filter(([name]) => !name.startsWith("connect+json"));

  describe.each(binaryProtocols)("over %s", (_, refusalWith) => {
    it.each([
      ["year 31690708 (JavaScript's Date cannot hold it)", 10n ** 15n],
      ["before year 1", -62135596801n],
      ["after year 9999", 253402300800n],
    ])("refuses a promotion starting in %s", async (_, seconds) => {
      const before = await sql`select * from promotions where id like 'text-%'`;
      const error = await refusalWith()(promotion(seconds));
      expect({ code: Code[error.code], message: error.rawMessage }).toEqual({
        code: Code[Code.InvalidArgument],
        message: expect.stringMatching(/^promotion\.starts_at: must be greater than or equal to 0001-01-01T00:00:00Z/),
      });
      expect(violatedFields(error)).toEqual(["promotion.starts_at"]);
      expect(await sql`select * from promotions where id like 'text-%'`).toEqual(before);
    });
  });
});

describe("the database's own refusal of such text", () => {
  // Validation refuses NUL before any statement runs, so no request reaches this backstop: the driver's real
  // errors are fed to the error mapping directly, to show they would be answered INVALID_ARGUMENT, not INTERNAL.
  it.each([
    ["22021", () => sql`select ${"a\0b"}::text`],
    ["22P05", () => sql`select ${JSON.stringify({ note: "a\0b" })}::text::jsonb`],
  ])("maps SQLSTATE %s to INVALID_ARGUMENT", async (sqlState, statement) => {
    const failure = await statement().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ code: sqlState });
    const mapped = errorMappingInterceptor(() => Promise.reject(failure))({} as UnaryRequest);
    await expect(mapped).rejects.toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: "the request holds text that cannot be stored (a NUL character or invalid Unicode)",
    });
  });
});

describe("metadata keys that are names of Object.prototype's members", () => {
  /** Parsed, so that "__proto__" is an own key as a client's JSON has it, not the prototype. */
  const metadata = JSON.parse('{"__proto__": "p", "constructor": "c", "toString": "t", "hasOwnProperty": "h", "plain": "x"}') as Record<string, string>;
  const entries = (record: object) => Object.entries(record).sort(([a], [b]) => a.localeCompare(b));

  /** Creates a cart with `metadata` over one protocol; the metadata it answers with, when that client can read it back. */
  const creators: [string, (customerId: string) => Promise<{ id: string; answered?: object }>][] = [
    [
      "@grpc/grpc-js (native gRPC)",
      async (customerId) => {
        const client = grpcJsClient("CartService", server.port);
        grpcJsClients.push(client);
        // proto-loader's decoder drops "__proto__" itself: this client's answer is not evidence.
        const { cart } = (await client.CreateCart({ customer_id: customerId, metadata })) as { cart: { id: string } };
        return { id: cart.id };
      },
    ],
    ...Object.keys(connectTransports("http://unused")).map((name): [string, (customerId: string) => Promise<{ id: string; answered?: object }>] => [
      name,
      async (customerId) => {
        const { cart } = await clientFor(CartService, connectTransports(server.baseUrl)[name]!).createCart({ customerId, metadata });
        return { id: cart!.id, answered: cart!.metadata };
      },
    ]),
    [
      "REST",
      async (customerId) => {
        const answer = await restCall(server.baseUrl, "POST", "/v1/carts", `{"customer_id": ${JSON.stringify(customerId)}, "metadata": ${JSON.stringify(metadata)}}`);
        expect(answer.status).toBe(201);
        return { id: answer.body.id as string, answered: answer.body.metadata as object };
      },
    ],
  ];

  it.each(creators)("are stored and answered as given over %s", async (protocol, create) => {
    const { id, answered } = await create(`text-keys-${protocol.replace(/\W+/g, "-")}`);
    if (answered) expect(entries(answered)).toEqual(entries(metadata));
    const [stored] = await sql`select metadata from carts where id = ${id}`;
    expect(entries(stored!.metadata as object)).toEqual(entries(metadata));
    const read = await restCall(server.baseUrl, "GET", `/v1/carts/${id}`);
    expect(entries(read.body.metadata as object)).toEqual(entries(metadata));
  });
});
