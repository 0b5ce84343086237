import { createHash, createHmac } from "node:crypto";
import http2 from "node:http2";
import { exportSPKI, UnsecuredJWT } from "jose";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { adminToken, audience, customerToken, issuer, rsaPublicKey, token } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { startServer, type TestServer } from "../support/server.js";

/**
 * The abuse table: hostile or broken requests, each answered with a precise
 * gRPC code and HTTP status, and none of them changing anything. Requests are
 * raw HTTP (Connect protocol with JSON or protobuf bodies, and REST), as an
 * attacker would send them.
 */

const alice = "abuse-alice";
const bob = "abuse-bob";
const maxLines = 3;

let server: TestServer;
let sql: postgres.Sql;
let aliceToken: string;
const fixture = { aliceCart: "", bobCart: "", bobLine: "", fullCart: "" };

beforeAll(async () => {
  server = await startServer({ MAX_LINES_PER_CART: String(maxLines), READ_MAX_BYTES: String(64 * 1024) });
  sql = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
  aliceToken = await customerToken(alice);
  const admin = connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!;
  const catalog = clientFor(CatalogService, admin);
  for (const id of ["abuse-a", "abuse-b", "abuse-c", "abuse-d"]) {
    await catalog.upsertProduct({ product: { id, title: id, active: true, prices: [{ currency: "USD", amountCents: 100n }] } });
  }
  const carts = clientFor(CartService, admin);
  fixture.aliceCart = (await carts.createCart({ customerId: alice })).cart!.id;
  const bobCart = (await carts.createCart({ customerId: bob, items: [{ productId: "abuse-a", quantity: 1 }] })).cart!;
  fixture.bobCart = bobCart.id;
  fixture.bobLine = bobCart.items[0]!.id;
  const items = ["abuse-a", "abuse-b", "abuse-c"].map((productId) => ({ productId, quantity: 1 }));
  fixture.fullCart = (await carts.createCart({ customerId: alice, items })).cart!.id;
});

afterAll(async () => {
  await sql?.end();
  await server?.stop();
});

/** Everything the abuse could have touched, as one hash. */
async function snapshot(): Promise<string> {
  const rows = await sql`
    select json_build_object(
      'carts', (select json_agg(c order by c.id) from carts c where c.customer_id like 'abuse-%'),
      'lines', (select json_agg(l order by l.id) from line_items l join carts c on c.id = l.cart_id where c.customer_id like 'abuse-%'),
      'products', (select json_agg(p order by p.id) from products p where p.id like 'abuse-%' or p.id like 'evil%'),
      'prices', (select json_agg(pp order by pp.product_id, pp.currency) from product_prices pp where pp.product_id like 'abuse-%'),
      'keys', (select count(*) from idempotency_records where principal like 'abuse-%')
    ) as state`;
  return createHash("sha256").update(JSON.stringify(rows[0]!.state)).digest("hex");
}

interface Answer {
  status: number;
  code: string;
  message: string;
}

/** A Connect-protocol call with a JSON (object or raw string) or protobuf (bytes) body. */
async function connectCall(
  procedure: string,
  body: object | string | Uint8Array,
  headers: Record<string, string> = { authorization: `Bearer ${adminToken}` },
): Promise<Answer> {
  const binary = body instanceof Uint8Array;
  const response = await fetch(`${server.baseUrl}/commerce.cart.v1.${procedure}`, {
    method: "POST",
    headers: { "content-type": binary ? "application/proto" : "application/json", ...headers },
    body: binary ? Buffer.from(body) : typeof body === "string" ? body : JSON.stringify(body),
  });
  const json = (await response.json()) as { code?: string; message?: string };
  return { status: response.status, code: json.code ?? "ok", message: json.message ?? "" };
}

/** A REST call; errors have the body {error, message, details}. */
async function restCall(method: string, path: string, body: object | undefined, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body && JSON.stringify(body),
  });
  const json = (await response.json()) as { error?: string; message?: string };
  return { status: response.status, code: json.error ?? "ok", message: json.message ?? "" };
}

const grpcCodeNames = ["ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists",
  "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range", "unimplemented", "internal",
  "unavailable", "data_loss", "unauthenticated"];

/** A raw gRPC call over h2c: the message bytes are sent as they are, framed but never encoded by a client library. */
async function grpcCall(procedure: string, message: Buffer): Promise<Answer> {
  const session = http2.connect(server.baseUrl);
  try {
    const stream = session.request({
      ":method": "POST",
      ":path": `/commerce.cart.v1.${procedure}`,
      "content-type": "application/grpc",
      te: "trailers",
      authorization: `Bearer ${adminToken}`,
    });
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    stream.end(frame);
    // A failure may come "trailers-only": grpc-status in the response headers, no trailers frame.
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    stream.once("response", (received) => (headers = received));
    stream.once("trailers", (received) => (trailers = received));
    stream.resume();
    await new Promise((resolve) => stream.once("close", resolve));
    const status = { ...headers, ...trailers };
    return {
      status: Number(headers[":status"]),
      code: grpcCodeNames[Number(status["grpc-status"])] ?? "unknown",
      message: decodeURIComponent(String(status["grpc-message"] ?? "")),
    };
  } finally {
    session.close();
  }
}

const bearer = (value: string) => ({ authorization: `Bearer ${value}` });
const getAlicesCart = (headers: Record<string, string>) => connectCall("CartService/GetCart", { id: fixture.aliceCart }, headers);

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString("base64url");
}

/** An HS256 token whose "secret" is the server's RSA public key: the classic algorithm-confusion forgery. */
async function algorithmConfusionToken(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT", kid: "test-RS256" }));
  const payload = base64url(JSON.stringify({ iss: issuer, aud: audience, sub: alice, scope: "carts:read", exp: now + 600 }));
  const signature = createHmac("sha256", await exportSPKI(rsaPublicKey))
    .update(`${header}.${payload}`)
    .digest("base64url");
  return `${header}.${payload}.${signature}`;
}

interface AbuseCase {
  name: string;
  send: () => Promise<Answer>;
  code: string;
  status: number;
  /** Text the message must contain, so the caller learns what was wrong. */
  says?: RegExp;
}

const abuses: AbuseCase[] = [
  // Authentication
  { name: "no Authorization header", send: () => getAlicesCart({}), code: "unauthenticated", status: 401, says: /bearer token/ },
  { name: "Basic instead of Bearer", send: () => getAlicesCart({ authorization: "Basic YTpi" }), code: "unauthenticated", status: 401 },
  { name: "garbled token", send: () => getAlicesCart(bearer("not.a.jwt")), code: "unauthenticated", status: 401, says: /malformed/ },
  {
    name: "expired token",
    send: async () => getAlicesCart(bearer(await token({ sub: alice, claims: { exp: Math.floor(Date.now() / 1000) - 3600 } }))),
    code: "unauthenticated",
    status: 401,
    says: /expired/,
  },
  {
    name: "token not valid yet",
    send: async () => getAlicesCart(bearer(await token({ sub: alice, claims: { nbf: Math.floor(Date.now() / 1000) + 3600 } }))),
    code: "unauthenticated",
    status: 401,
    says: /not valid yet/,
  },
  {
    name: "alg none",
    send: () =>
      getAlicesCart(
        bearer(new UnsecuredJWT({ scope: "carts:read carts:admin" }).setIssuer(issuer).setAudience(audience).setSubject(alice).setExpirationTime("1h").encode()),
      ),
    code: "unauthenticated",
    status: 401,
  },
  {
    name: "algorithm confusion (HS256 keyed with the RSA public key)",
    send: async () => getAlicesCart(bearer(await algorithmConfusionToken())),
    code: "unauthenticated",
    status: 401,
  },
  {
    name: "wrong issuer",
    send: async () => getAlicesCart(bearer(await token({ sub: alice, claims: { iss: "https://evil.test" } }))),
    code: "unauthenticated",
    status: 401,
    says: /"iss"/,
  },
  {
    name: "wrong audience",
    send: async () => getAlicesCart(bearer(await token({ sub: alice, claims: { aud: "another-service" } }))),
    code: "unauthenticated",
    status: 401,
    says: /"aud"/,
  },
  {
    name: "unknown key id",
    send: async () => getAlicesCart(bearer(await token({ sub: alice, kid: "rotated-away" }))),
    code: "unauthenticated",
    status: 401,
    says: /key id/,
  },
  {
    name: "signature of another key under a trusted key id",
    send: async () => getAlicesCart(bearer(await token({ sub: alice, alg: "ES256", kid: "test-EdDSA" }))),
    code: "unauthenticated",
    status: 401,
  },
  {
    name: "no sub claim",
    send: async () => getAlicesCart(bearer(await token({ claims: { sub: undefined } }))),
    code: "unauthenticated",
    status: 401,
    says: /"sub"/,
  },
  {
    name: "tampered payload",
    send: async () => {
      const [header, , signature] = (await customerToken(alice)).split(".");
      const payload = base64url(JSON.stringify({ iss: issuer, aud: audience, sub: alice, scope: "carts:admin carts:read", exp: 9999999999 }));
      return getAlicesCart(bearer(`${header}.${payload}.${signature}`));
    },
    code: "unauthenticated",
    status: 401,
  },
  // Scopes
  {
    name: "read-only token adds an item",
    send: async () =>
      connectCall(
        "CartService/AddLineItem",
        { cartId: fixture.aliceCart, productId: "abuse-a", quantity: 1 },
        bearer(await token({ sub: alice, scope: "carts:read" })),
      ),
    code: "permission_denied",
    status: 403,
    says: /carts:write/,
  },
  {
    name: "customer token publishes a product",
    send: () =>
      connectCall(
        "CatalogService/UpsertProduct",
        { product: { id: "evil-free", title: "Free", active: true, prices: [{ currency: "USD", amountCents: "0" }] } },
        bearer(aliceToken),
      ),
    code: "permission_denied",
    status: 403,
    says: /catalog:write/,
  },
  // Customer A against customer B
  {
    name: "A reads B's cart",
    send: () => connectCall("CartService/GetCart", { id: fixture.bobCart }, bearer(aliceToken)),
    code: "permission_denied",
    status: 403,
  },
  {
    name: "A adds to B's cart",
    send: () => connectCall("CartService/AddLineItem", { cartId: fixture.bobCart, productId: "abuse-b", quantity: 1 }, bearer(aliceToken)),
    code: "permission_denied",
    status: 403,
  },
  {
    name: "A changes B's line",
    send: () =>
      connectCall("CartService/UpdateLineItem", { cartId: fixture.bobCart, itemId: fixture.bobLine, quantity: 9 }, bearer(aliceToken)),
    code: "permission_denied",
    status: 403,
  },
  {
    name: "A removes B's line over REST",
    send: () => restCall("DELETE", `/v1/carts/${fixture.bobCart}/items/${fixture.bobLine}`, undefined, bearer(aliceToken)),
    code: "permission_denied",
    status: 403,
  },
  {
    name: "A deletes B's cart",
    send: () => connectCall("CartService/DeleteCart", { id: fixture.bobCart }, bearer(aliceToken)),
    code: "permission_denied",
    status: 403,
  },
  {
    name: "A updates B's email",
    send: () =>
      connectCall("CartService/UpdateCart", { cart: { id: fixture.bobCart, email: "a@evil.test" }, updateMask: "email" }, bearer(aliceToken)),
    code: "permission_denied",
    status: 403,
  },
  {
    name: "A lists B's carts",
    send: () => connectCall("CartService/ListCarts", { customerId: bob }, bearer(aliceToken)),
    code: "permission_denied",
    status: 403,
  },
  {
    name: "A creates a cart for B",
    send: () => connectCall("CartService/CreateCart", { customerId: bob }, bearer(aliceToken)),
    code: "permission_denied",
    status: 403,
  },
  // Forged and unknown fields
  {
    name: "forged unit price on add",
    send: () =>
      connectCall("CartService/AddLineItem", { cartId: fixture.aliceCart, productId: "abuse-a", quantity: 1, unitPriceCents: "1" }),
    code: "invalid_argument",
    status: 400,
    says: /unitPriceCents/,
  },
  {
    name: "forged total on create over REST",
    send: () => restCall("POST", "/v1/carts", { customer_id: alice, total_cents: "0" }, bearer(adminToken)),
    code: "invalid_argument",
    status: 400,
    says: /total_cents/,
  },
  {
    name: "forged status on create",
    send: () => connectCall("CartService/CreateCart", { customerId: alice, status: "CART_STATUS_COMPLETED" }),
    code: "invalid_argument",
    status: 400,
    says: /status/,
  },
  {
    name: "malformed JSON",
    send: () => connectCall("CartService/CreateCart", '{"customerId": '),
    code: "invalid_argument",
    status: 400,
  },
  {
    name: "quantity as a string of words",
    send: () => connectCall("CartService/AddLineItem", { cartId: fixture.aliceCart, productId: "abuse-a", quantity: "lots" }),
    code: "invalid_argument",
    status: 400,
  },
  // Limits
  {
    name: "oversized request",
    send: () => connectCall("CartService/CreateCart", { customerId: alice, metadata: { note: "x".repeat(100 * 1024) } }),
    code: "resource_exhausted",
    status: 429,
  },
  {
    name: "one line too many",
    send: () => connectCall("CartService/AddLineItem", { cartId: fixture.fullCart, productId: "abuse-d", quantity: 1 }),
    code: "failed_precondition",
    status: 400,
    says: new RegExp(`maximum of ${maxLines} lines`),
  },
  {
    name: "absurd quantity",
    send: () => connectCall("CartService/AddLineItem", { cartId: fixture.aliceCart, productId: "abuse-a", quantity: 2147483647 }),
    code: "invalid_argument",
    status: 400,
    says: /quantity/,
  },
  {
    name: "SQL-looking cart id",
    send: () => connectCall("CartService/GetCart", { id: "' OR 1=1; DROP TABLE carts; --" }),
    code: "invalid_argument",
    status: 400,
    says: /id/,
  },
  {
    name: "SQL-looking product id",
    send: () => connectCall("CartService/AddLineItem", { cartId: fixture.aliceCart, productId: "x'); DELETE FROM products; --", quantity: 1 }),
    code: "invalid_argument",
    status: 400,
    says: /product_id/,
  },
  {
    name: "quantity overflowing int32",
    send: () => connectCall("CartService/AddLineItem", { cartId: fixture.aliceCart, productId: "abuse-a", quantity: 4294967297 }),
    code: "invalid_argument",
    status: 400,
  },
  {
    // Over gRPC (HTTP status 200, the code in grpc-status). Connect and gRPC-Web: see bounded-errors.test.ts.
    name: "malformed protobuf bytes over gRPC",
    send: () => grpcCall("CartService/CreateCart", Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])),
    code: "invalid_argument",
    status: 200,
  },
];

describe("abuse", () => {
  it("has at least 30 cases", () => {
    expect(abuses.length).toBeGreaterThanOrEqual(30);
  });

  it.each(abuses.map((abuse) => [abuse.name, abuse] as const))("%s is refused and changes nothing", async (_name, abuse) => {
    const before = await snapshot();
    const answer = await abuse.send();
    expect({ code: answer.code, status: answer.status }).toEqual({ code: abuse.code, status: abuse.status });
    if (abuse.says) expect(answer.message).toMatch(abuse.says);
    expect(answer.message).not.toMatch(/postgres|sql|stack|at \//i);
    expect(await snapshot()).toBe(before);
  });

  it("answers a foreign cart exactly like a missing one", async () => {
    const missing = "0190a000-0000-7000-8000-00000000dead";
    const foreign = await connectCall("CartService/GetCart", { id: fixture.bobCart }, bearer(aliceToken));
    const absent = await connectCall("CartService/GetCart", { id: missing }, bearer(aliceToken));
    expect(foreign.status).toBe(absent.status);
    expect(foreign.message.replace(fixture.bobCart, "ID")).toBe(absent.message.replace(missing, "ID"));
  });

  it("lets A list only A's carts when A asks for all", async () => {
    const answer = await fetch(`${server.baseUrl}/commerce.cart.v1.CartService/ListCarts`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(aliceToken) },
      body: "{}",
    });
    const { carts } = (await answer.json()) as { carts: { customerId: string }[] };
    expect(carts.length).toBeGreaterThan(0);
    expect(new Set(carts.map((cart) => cart.customerId))).toEqual(new Set([alice]));
  });
});
