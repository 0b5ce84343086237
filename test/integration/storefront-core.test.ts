import { Code, type ConnectError, type Transport } from "@connectrpc/connect";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from "vitest";
import { PaymentSessionStatus } from "../../gen/commerce/cart/v1/payment_pb.js";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { PublishableKeyService } from "../../gen/commerce/cart/v1/publishable_key_service_pb.js";
import { StoreConfigService } from "../../gen/commerce/cart/v1/store_config_service_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { PublishableKeyDirectory } from "../../src/service/publishable-keys.js";
import { connectDatabase } from "../../src/storage/database.js";
import { PublishableKeyRepository } from "../../src/storage/publishable-key-repository.js";
import { adminToken, customerToken } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { grpcJsClient } from "../support/grpc-js-client.js";
import { restCall } from "../support/rest-client.js";
import { refusal, violatedFields } from "../support/rpc-errors.js";
import { startServer, type TestServer } from "../support/server.js";

/**
 * What the core gained for storefronts: publishable keys, payment collections
 * and sessions, line details and metadata. Through the real protocols and a
 * real PostgreSQL; every id starts with "sfcore-", so the snapshots see only
 * this file's rows.
 */

/** The product every cart here holds: a digital one, with every line detail set. */
const ebook = {
  id: "sfcore-ebook",
  title: "E-book",
  subtitle: "The PDF edition",
  thumbnailUri: "https://img.example/ebook.png",
  handle: "ebook",
  sku: "EBOOK-PDF",
  variantTitle: "PDF",
  active: true,
  shippable: false,
  prices: [{ currency: "USD", amountCents: 1500n }],
};

let server: TestServer;
let sql: postgres.Sql;

const transport = (name = "connect+json (HTTP/1.1)", bearerToken = adminToken): Transport =>
  connectTransports(server.baseUrl, bearerToken)[name]!;
const carts = (name?: string, bearerToken?: string) => clientFor(CartService, transport(name, bearerToken));
const keys = (name?: string, bearerToken?: string) => clientFor(PublishableKeyService, transport(name, bearerToken));
const store = () => clientFor(StoreConfigService, transport());
const catalog = () => clientFor(CatalogService, transport());
const rest = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  restCall(server.baseUrl, method, path, body, headers);

/** This file's carts, lines and keys as stored, for "nothing changed" checks. */
async function snapshot() {
  const [state] = await sql`
    select
      (select json_agg(c order by c.id) from carts c where c.customer_id like 'sfcore-%') as carts,
      (select json_agg(l order by l.id) from line_items l join carts c on c.id = l.cart_id where c.customer_id like 'sfcore-%') as lines,
      (select json_agg(k order by k.id) from publishable_keys k where k.title like 'sfcore-%') as keys,
      (select json_agg(o order by o.id) from orders o where o.customer_id like 'sfcore-%') as orders`;
  return state;
}

const paymentRefusalOf = (error: ConnectError) => error.findDetails(ErrorInfoSchema)[0]?.metadata.payment_refusal;

const newCart = async (customerId: string, quantity = 2) =>
  (await carts().createCart({ customerId, regionId: "sfcore-us", email: `${customerId}@example.com`, items: [{ productId: "sfcore-ebook", quantity }] })).cart!;

beforeAll(async () => {
  server = await startServer();
  sql = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
  await store().upsertRegion({ region: { id: "sfcore-us", name: "US", currency: "USD", countries: ["US"] } });
  await store().upsertSalesChannel({ salesChannel: { id: "sfcore-web", name: "Web" } });
  await store().upsertSalesChannel({ salesChannel: { id: "sfcore-app", name: "App" } });
  await catalog().upsertProduct({ product: ebook });
});

afterAll(async () => {
  await sql?.end();
  await server?.stop();
});

describe("PublishableKeyService", () => {
  it("creates, reads, lists and revokes keys over Connect and REST; the directory resolves their tokens", async () => {
    const { publishableKey: web } = await keys().createPublishableKey({ publishableKey: { title: "sfcore-web", salesChannelIds: ["sfcore-web"] } });
    expect(web).toMatchObject({ title: "sfcore-web", salesChannelIds: ["sfcore-web"] });
    expect(web!.token).toMatch(/^pk_[0-9a-f]{64}$/);
    expect(web!.revokedAt).toBeUndefined();

    const created = await rest("POST", "/v1/publishable-keys", { title: "sfcore-both", sales_channel_ids: ["sfcore-web", "sfcore-app"] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ title: "sfcore-both", sales_channel_ids: ["sfcore-web", "sfcore-app"] });
    expect(created.body.token).not.toBe(web!.token);

    expect((await keys("connect+proto (HTTP/2)").getPublishableKey({ id: web!.id })).publishableKey).toEqual(web);
    const listed = await rest("GET", "/v1/publishable-keys?page_size=200");
    expect(listed.body.publishable_keys.map((key: { id: string }) => key.id)).toEqual(expect.arrayContaining([web!.id, created.body.id]));
    // Newest first.
    const ids: string[] = listed.body.publishable_keys.map((key: { id: string }) => key.id);
    expect(ids.indexOf(created.body.id)).toBeLessThan(ids.indexOf(web!.id));

    // The storefront surface resolves tokens in-process, through the service's own storage.
    const database = connectDatabase({ url: inject("databaseUrl"), poolSize: 1, statementTimeoutMs: 5000, lockTimeoutMs: 5000 });
    onTestFinished(() => database.sql.end());
    const directory = new PublishableKeyDirectory({ keys: new PublishableKeyRepository(database.sql), now: () => new Date() });
    expect(await directory.resolve(web!.token)).toMatchObject({ status: "valid", key: { id: web!.id, salesChannelIds: ["sfcore-web"] } });
    expect(directory.salesChannelForNewCart(web!, "")).toEqual({ salesChannelId: "sfcore-web" });
    expect(await directory.resolve(`pk_${"0".repeat(64)}`)).toEqual({ status: "unknown" });
    expect(await directory.resolve("")).toEqual({ status: "unknown" });
    expect(await directory.resolve("x".repeat(100_000))).toEqual({ status: "unknown" });

    const revoked = await rest("POST", `/v1/publishable-keys/${web!.id}:revoke`, {});
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).toEqual(expect.any(String));
    const again = (await keys("grpc (connect-node, HTTP/2)").revokePublishableKey({ id: web!.id })).publishableKey!;
    expect(again.revokedAt).toEqual((await keys().getPublishableKey({ id: web!.id })).publishableKey!.revokedAt);
    expect(await directory.resolve(web!.token)).toMatchObject({ status: "revoked", key: { id: web!.id } });
  });

  it("refuses bad requests with the right code, naming the field, and stores nothing", async () => {
    const before = await snapshot();
    const unknownChannel = await refusal(keys().createPublishableKey({ publishableKey: { title: "sfcore-x", salesChannelIds: ["sfcore-nope"] } }));
    expect(unknownChannel.code).toBe(Code.FailedPrecondition);
    expect(unknownChannel.rawMessage).toBe("sales channel sfcore-nope does not exist; create it first");
    const noTitle = await refusal(keys().createPublishableKey({ publishableKey: { title: "" } }));
    expect(noTitle.code).toBe(Code.InvalidArgument);
    expect(violatedFields(noTitle)).toEqual(["publishable_key.title"]);
    const customer = await refusal(keys(undefined, await customerToken("sfcore-eve")).createPublishableKey({ publishableKey: { title: "sfcore-y" } }));
    expect(customer.code).toBe(Code.PermissionDenied);
    const missing = await rest("POST", "/v1/publishable-keys/01900000-0000-7000-8000-000000000000:revoke", {});
    expect(missing.status).toBe(404);
    expect((await rest("GET", "/v1/publishable-keys/not-a-uuid")).status).toBe(400);
    expect(await snapshot()).toEqual(before);
  });
});

describe("payment providers", () => {
  it("lists the system provider of a region that names none, over Connect and REST", async () => {
    expect((await store().listPaymentProviders({ regionId: "sfcore-us" })).paymentProviders).toEqual([
      expect.objectContaining({ id: "system", name: "System" }),
    ]);
    expect((await rest("GET", "/v1/regions/sfcore-us/payment-providers")).body).toEqual({ payment_providers: [{ id: "system", name: "System" }] });
    expect((await rest("GET", "/v1/regions/sfcore-nope/payment-providers")).status).toBe(404);
  });

  it("refuses a region naming a provider the service does not have, and keeps the region", async () => {
    const before = (await store().getRegion({ id: "sfcore-us" })).region;
    const error = await refusal(
      store().upsertRegion({ region: { id: "sfcore-us", name: "US", currency: "USD", countries: ["US"], paymentProviderIds: ["stripe"] } }),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("payment provider stripe does not exist");
    expect((await store().getRegion({ id: "sfcore-us" })).region).toEqual(before);
  });
});

describe("payment collections and sessions", () => {
  it("creates a collection once, starts sessions, and completes with the authorized session (Connect, REST, native gRPC)", async () => {
    const cart = await newCart("sfcore-pay");
    const first = await rest("POST", `/v1/carts/${cart.id}/payment-collection`, {});
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ cart_id: cart.id, currency: "USD", amount_cents: "3000" });
    expect(first.body.sessions ?? []).toEqual([]);
    const second = await carts("connect+proto (HTTP/2)").createPaymentCollection({ cartId: cart.id });
    expect(second.paymentCollection!.id).toBe(first.body.id);
    expect(second.cart!.paymentCollection).toEqual(second.paymentCollection);

    const session = await rest("POST", `/v1/payment-collections/${first.body.id}/sessions`, { provider_id: "system", data: { note: "hi" } });
    expect(session.status).toBe(201);
    expect(session.body.sessions).toEqual([
      expect.objectContaining({ provider_id: "system", amount_cents: "3000", currency: "USD", status: "PAYMENT_SESSION_STATUS_PENDING", data: { note: "hi" } }),
    ]);

    const native = grpcJsClient("CartService", server.port);
    try {
      const { order, cart: completed } = await native.CompleteCart({ id: cart.id, require_payment_session: true });
      expect(order.payment_reference).toBe(session.body.sessions[0].id);
      expect(completed.payment_collection.sessions).toEqual([
        expect.objectContaining({ id: session.body.sessions[0].id, status: "PAYMENT_SESSION_STATUS_AUTHORIZED" }),
      ]);
    } finally {
      native.close();
    }
    const read = (await carts().getCart({ id: cart.id })).cart!;
    expect(read.paymentCollection!.sessions[0]!.status).toBe(PaymentSessionStatus.AUTHORIZED);
  });

  it("replays a session request retried with its Idempotency-Key instead of starting another session", async () => {
    const cart = await newCart("sfcore-retry");
    const { paymentCollection } = await carts().createPaymentCollection({ cartId: cart.id });
    const path = `/v1/payment-collections/${paymentCollection!.id}/sessions`;
    const first = await rest("POST", path, { provider_id: "system" }, { "idempotency-key": "sfcore-retry-1" });
    const retry = await rest("POST", path, { provider_id: "system" }, { "idempotency-key": "sfcore-retry-1" });
    expect(retry.body).toEqual(first.body);
    const read = (await carts().getCart({ id: cart.id })).cart!;
    expect(read.paymentCollection!.sessions.map((session) => session.id)).toEqual([first.body.sessions[0].id]);
    expect(read.etag).toBe(String(Number(cart.etag) + 2));
  });

  it("drops the sessions when the total changes and keeps them when it does not", async () => {
    const cart = await newCart("sfcore-follow");
    const { paymentCollection } = await carts().createPaymentCollection({ cartId: cart.id });
    await carts().createPaymentSession({ paymentCollectionId: paymentCollection!.id, providerId: "system" });
    const emailed = (await carts().updateCart({ cart: { id: cart.id, email: "new@example.com" }, updateMask: { paths: ["email"] } })).cart!;
    expect(emailed.paymentCollection!.sessions).toHaveLength(1);
    const added = (await carts().addLineItem({ cartId: cart.id, productId: "sfcore-ebook", quantity: 1 })).cart!;
    expect(added.paymentCollection).toMatchObject({ amountCents: 4500n, sessions: [] });
    expect(added.totalCents).toBe(4500n);
  });

  it("refuses what cannot be paid and changes nothing", async () => {
    const cart = await newCart("sfcore-refuse");
    const before = await snapshot();
    const noCollection = await refusal(carts().completeCart({ id: cart.id, requirePaymentSession: true }));
    expect(noCollection.code).toBe(Code.FailedPrecondition);
    expect(paymentRefusalOf(noCollection)).toBe("no_payment_collection");
    const unknown = await refusal(carts().createPaymentSession({ paymentCollectionId: "01900000-0000-7000-8000-000000000000", providerId: "system" }));
    expect(unknown.code).toBe(Code.NotFound);
    expect(unknown.rawMessage).toBe("payment collection 01900000-0000-7000-8000-000000000000 does not exist");
    expect((await rest("POST", `/v1/carts/${cart.id}/payment-collection`, { cart_id: "x" })).status).toBe(400);
    expect(await snapshot()).toEqual(before);

    const { paymentCollection } = await carts().createPaymentCollection({ cartId: cart.id });
    const withCollection = await snapshot();
    const noSession = await refusal(carts().completeCart({ id: cart.id, requirePaymentSession: true }));
    expect(paymentRefusalOf(noSession)).toBe("no_payment_session");
    const foreignProvider = await refusal(carts().createPaymentSession({ paymentCollectionId: paymentCollection!.id, providerId: "stripe" }));
    expect(foreignProvider.code).toBe(Code.FailedPrecondition);
    expect(paymentRefusalOf(foreignProvider)).toBe("provider_not_in_region");
    expect(foreignProvider.rawMessage).toBe("payment provider stripe is not offered in region sfcore-us");
    const badProvider = await refusal(carts().createPaymentSession({ paymentCollectionId: paymentCollection!.id, providerId: "Not Valid" }));
    expect(violatedFields(badProvider)).toEqual(["provider_id"]);
    expect(await snapshot()).toEqual(withCollection);

    // The /v1 path without the flag still completes with the caller's payment reference.
    const { order } = await carts().completeCart({ id: cart.id, paymentReference: "psp-1" });
    expect(order!.paymentReference).toBe("psp-1");
    const completed = await refusal(carts().createPaymentCollection({ cartId: cart.id }));
    expect(completed.code).toBe(Code.FailedPrecondition);
  });

  it("a customer reaches only its own cart's collection: another's answers as a missing one, naming no cart", async () => {
    const cart = (await carts(undefined, await customerToken("sfcore-ann")).createCart({ customerId: "sfcore-ann", regionId: "sfcore-us" })).cart!;
    const { paymentCollection } = await carts(undefined, await customerToken("sfcore-ann")).createPaymentCollection({ cartId: cart.id });
    const before = await snapshot();
    const bob = await customerToken("sfcore-bob");
    expect((await refusal(carts(undefined, bob).createPaymentCollection({ cartId: cart.id }))).code).toBe(Code.PermissionDenied);
    const foreign = await refusal(carts(undefined, bob).createPaymentSession({ paymentCollectionId: paymentCollection!.id, providerId: "system" }));
    expect([foreign.code, foreign.rawMessage]).toEqual([Code.NotFound, `payment collection ${paymentCollection!.id} does not exist`]);
    expect(await snapshot()).toEqual(before);
  });

  it("keeps the collection in step with the cart while sessions and line changes race", async () => {
    const cart = await newCart("sfcore-race", 1);
    const { paymentCollection } = await carts().createPaymentCollection({ cartId: cart.id });
    const names = ["connect+json (HTTP/1.1)", "connect+proto (HTTP/2)", "grpc-web (HTTP/1.1)", "grpc (connect-node, HTTP/2)"];
    const calls = Array.from({ length: 20 }, (_, index) => {
      const client = carts(names[index % names.length]);
      return index % 2 === 0
        ? client.createPaymentSession({ paymentCollectionId: paymentCollection!.id, providerId: "system" })
        : client.addLineItem({ cartId: cart.id, productId: "sfcore-ebook", quantity: 1 });
    });
    const results = await Promise.allSettled(calls);
    expect(results.filter((result) => result.status === "rejected")).toEqual([]);
    const final = (await carts().getCart({ id: cart.id })).cart!;
    expect(final.items[0]!.quantity).toBe(11);
    expect(final.paymentCollection!.amountCents).toBe(final.totalCents);
    for (const session of final.paymentCollection!.sessions) expect(session.amountCents).toBe(final.totalCents);
    expect(final.paymentCollection!.sessions.length).toBeLessThanOrEqual(1);
    expect(Number(final.etag)).toBe(Number(cart.etag) + 21);
  });
});

describe("line details and metadata", () => {
  it("copies the product's details onto new lines, keeps them, and makes a line per distinct metadata (Connect and REST)", async () => {
    const { cart } = await carts().createCart({
      customerId: "sfcore-lines",
      regionId: "sfcore-us",
      items: [
        { productId: "sfcore-ebook", quantity: 1, metadata: { edition: "signed" } },
        { productId: "sfcore-ebook", quantity: 2, metadata: { edition: "signed" } },
      ],
    });
    expect(cart!.items).toEqual([
      expect.objectContaining({
        quantity: 3,
        title: "E-book",
        subtitle: "The PDF edition",
        thumbnailUri: "https://img.example/ebook.png",
        productHandle: "ebook",
        sku: "EBOOK-PDF",
        variantTitle: "PDF",
        metadata: { edition: "signed" },
      }),
    ]);
    const plain = await rest("POST", `/v1/carts/${cart!.id}/items`, { product_id: "sfcore-ebook", quantity: 1 });
    expect(plain.status).toBe(200);
    const other = await rest("POST", `/v1/carts/${cart!.id}/items`, { product_id: "sfcore-ebook", quantity: 4, metadata: { edition: "plain" } });
    expect(other.body.items.map((line: { quantity: number; metadata?: object }) => [line.quantity, line.metadata ?? {}])).toEqual([
      [3, { edition: "signed" }],
      [1, {}],
      [4, { edition: "plain" }],
    ]);
    const merged = (await carts().addLineItem({ cartId: cart!.id, productId: "sfcore-ebook", quantity: 1, metadata: { edition: "plain" } })).cart!;
    expect(merged.items.map((line) => line.quantity)).toEqual([3, 1, 5]);

    // UpdateLineItem changes metadata only when update_mask names it.
    const [, plainLine] = merged.items;
    const relabeled = await rest("PATCH", `/v1/carts/${cart!.id}/items/${plainLine!.id}`, { update_mask: "metadata", metadata: { edition: "gift" } });
    expect(relabeled.status).toBe(200);
    expect(relabeled.body.items[1]).toMatchObject({ quantity: 1, metadata: { edition: "gift" } });
    const both = (await carts("connect+proto (HTTP/2)").updateLineItem({
      cartId: cart!.id,
      itemId: plainLine!.id,
      quantity: 2,
      updateMask: { paths: ["quantity", "metadata"] },
      metadata: {},
    })).cart!;
    expect(both.items[1]).toMatchObject({ quantity: 2, metadata: {} });
    const quantityOnly = (await carts().updateLineItem({ cartId: cart!.id, itemId: plainLine!.id, quantity: 1, metadata: { ignored: "yes" } })).cart!;
    expect(quantityOnly.items[1]).toMatchObject({ quantity: 1, metadata: {} });

    // The catalog changes; the lines keep what it said when they were added.
    await catalog().upsertProduct({
      product: { id: "sfcore-ebook", title: "E-book", subtitle: "Second edition", sku: "EBOOK-2", active: true, shippable: false, prices: [{ currency: "USD", amountCents: 1500n }] },
    });
    try {
      const after = (await carts().addLineItem({ cartId: cart!.id, productId: "sfcore-ebook", quantity: 1 })).cart!;
      expect(after.items.map((line) => [line.quantity, line.subtitle, line.sku])).toEqual([
        [3, "The PDF edition", "EBOOK-PDF"],
        [2, "The PDF edition", "EBOOK-PDF"],
        [5, "The PDF edition", "EBOOK-PDF"],
      ]);
    } finally {
      await catalog().upsertProduct({ product: ebook });
    }
  });

  it("refuses oversized metadata and bad product details, naming the field, and changes nothing", async () => {
    const cart = await newCart("sfcore-badmeta");
    const before = await snapshot();
    const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, index) => [`k${index}`, "v"]));
    const error = await refusal(carts().addLineItem({ cartId: cart.id, productId: "sfcore-ebook", quantity: 1, metadata: tooMany }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(violatedFields(error)).toEqual(["metadata"]);
    const longValue = await rest("POST", `/v1/carts/${cart.id}/items`, { product_id: "sfcore-ebook", quantity: 1, metadata: { k: "v".repeat(501) } });
    expect(longValue.status).toBe(400);
    const badPath = await refusal(
      carts().updateLineItem({ cartId: cart.id, itemId: cart.items[0]!.id, quantity: 1, updateMask: { paths: ["title"] } }),
    );
    expect(badPath.code).toBe(Code.InvalidArgument);
    expect(violatedFields(badPath)).toEqual(["update_mask"]);
    const badThumbnail = await refusal(
      catalog().upsertProduct({ product: { id: "sfcore-bad", title: "Bad", active: true, thumbnailUri: "javascript:alert(1)" } }),
    );
    expect(violatedFields(badThumbnail)).toEqual(["product.thumbnail_uri"]);
    expect(await snapshot()).toEqual(before);
  });
});
