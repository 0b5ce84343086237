import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { create, fromBinary, fromJson, type JsonValue, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { connect, type NatsConnection } from "nats";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CartStatus } from "../../gen/commerce/cart/v1/cart_pb.js";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CartEventService } from "../../gen/commerce/cart/v1/event_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { type CartEvent, CartAspect, CartEventSchema, CartEventType } from "../../gen/commerce/cart/v1/events_pb.js";
import { StoreConfigService } from "../../gen/commerce/cart/v1/store_config_service_pb.js";
import { adminToken, customerToken, token } from "../support/auth.js";
import { grpcJsServerStream } from "../support/grpc-js-client.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { cloudEvent, machineNatsUrl, natsReachable, natsServerBinary, ownNats, streamMessages } from "../support/nats.js";
import { refusal } from "../support/rpc-errors.js";
import { startServer, type TestServer } from "../support/server.js";
import { nextWithin } from "../support/streams.js";

/**
 * Cart events: the transactional outbox (through the real service and a
 * real PostgreSQL) and its relay to NATS JetStream: the machine's NATS for
 * most tests, with a stream and subjects of this run's own so that runs do
 * not collide, and a nats-server of the test's own where NATS has to stop.
 * Customer and product ids start with "events-".
 */

const run = randomBytes(3).toString("hex");
let streams = 0;
/** A stream and subject prefix no other test or run uses. */
function freshStream() {
  const n = ++streams;
  return { EVENTS_NATS_STREAM: `CART_EVENTS_TEST_${run}_${n}`, EVENTS_NATS_SUBJECT_PREFIX: `test.${run}.${n}.cart.events` };
}

const natsUp = await natsReachable();
const natsServerInstalled = existsSync(natsServerBinary);
if (!natsUp) console.warn(`NATS is not reachable at ${machineNatsUrl}: the tests publishing to it are skipped`);
if (!natsServerInstalled) console.warn(`${natsServerBinary} is missing: the tests stopping a NATS of their own are skipped`);

/**
 * A database of this file's own: every relay publishes every event of its
 * database, so events of other test files running meanwhile would reach
 * this file's streams.
 */
const database = `${new URL(inject("databaseUrl")).pathname.slice(1)}_events`;
const databaseUrl = Object.assign(new URL(inject("databaseUrl")), { pathname: `/${database}` }).toString();
const admin = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });

let sql: postgres.Sql;
const nats: NatsConnection[] = [];
const servers: TestServer[] = [];
/** The streams made on the machine's NATS, deleted afterwards. */
const streamsMade: string[] = [];

const client = (server: TestServer, token = adminToken) =>
  clientFor(CartService, connectTransports(server.baseUrl, token)["connect+proto (HTTP/2)"]!);

async function serve(env: Record<string, string>): Promise<TestServer> {
  const server = await startServer({ DATABASE_URL: databaseUrl, ...env });
  servers.push(server);
  if (env.EVENTS_NATS_URL === machineNatsUrl) streamsMade.push(env.EVENTS_NATS_STREAM!);
  return server;
}

async function natsClient(url: string): Promise<NatsConnection> {
  const connection = await connect({ servers: url, timeout: 5_000 });
  nats.push(connection);
  return connection;
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passed; bounded. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The outbox's events of these carts, oldest first. */
async function outboxEvents(cartIds: readonly string[]): Promise<(CartEvent & { sent: boolean })[]> {
  const rows = await sql<{ data: Buffer; sent: boolean }[]>`
    select data, sent_at is not null as sent from cart_events where cart_id = any(${cartIds as string[]}::uuid[]) order by seq`;
  return rows.map((row) => ({ ...fromBinary(CartEventSchema, row.data), sent: row.sent }));
}

/** The CartEvents a stream holds (structured JSON CloudEvents), with their subjects. */
async function streamEvents(connection: NatsConnection, stream: string) {
  const messages = await streamMessages(connection, stream);
  return messages.map((message) => {
    const envelope = cloudEvent(message);
    return { subject: message.subject, envelope, event: fromJson(CartEventSchema, envelope.data as JsonValue) };
  });
}

async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  const line = text.split("\n").find((entry) => entry.startsWith(`${name} `));
  return Number(line?.split(" ")[1] ?? Number.NaN);
}

/** Sets up the products, region and shipping option carts in these tests use. */
async function prepareStore(server: TestServer): Promise<void> {
  const transport = connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!;
  const store = clientFor(StoreConfigService, transport);
  await store.upsertRegion({ region: { id: "events-us", name: "US", currency: "USD", countries: ["US"], defaultTaxRatePpm: 100_000 } });
  await store.upsertShippingOption({
    shippingOption: { id: "events-std", name: "Standard", regionId: "events-us", prices: [{ currency: "USD", amountCents: 500n }] },
  });
  await clientFor(CatalogService, transport).upsertProduct({
    product: { id: "events-tee", title: "Tee", active: true, prices: [{ currency: "USD", amountCents: 2000n }] },
  });
}

const address = { name: "Ada", line1: "1 Main St", city: "Town", postalCode: "1000", country: "US" };

/** A cart CompleteCart accepts. */
async function readyCart(server: TestServer, customerId: string) {
  const carts = client(server);
  const { cart } = await carts.createCart({
    customerId,
    regionId: "events-us",
    email: `${customerId}@example.com`,
    shippingAddress: address,
    items: [{ productId: "events-tee", quantity: 1 }],
  });
  return (await carts.addShippingMethod({ cartId: cart!.id, shippingOptionId: "events-std" })).cart!;
}

beforeAll(async () => {
  await admin.unsafe(`create database ${database}`);
  // The service migrates it at start-up.
  sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
});

/** Stops the servers started so far: a relay left running would take other tests' events (they share the outbox). */
async function stopServers(): Promise<void> {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
}

afterAll(async () => {
  await stopServers();
  const machine = natsUp && streamsMade.length > 0 ? await natsClient(machineNatsUrl) : undefined;
  const manager = await machine?.jetstreamManager();
  for (const stream of streamsMade) await manager?.streams.delete(stream).catch(() => {});
  await Promise.all(nats.map((connection) => connection.close()));
  await sql?.end();
  await admin.unsafe(`drop database if exists ${database} with (force)`);
  await admin.end();
});

describe("the outbox", () => {
  afterAll(stopServers);
  let server: TestServer;
  beforeAll(async () => {
    server = await serve({ CART_SWEEP_INTERVAL_SECONDS: "1" });
    await prepareStore(server);
  });

  it("records one event per committed change, with the cart version it produced, the caller and the cart after it", async () => {
    const alice = client(server, await customerToken("events-alice"));
    const { cart: created } = await alice.createCart({ customerId: "events-alice", regionId: "events-us" });
    const id = created!.id;
    await alice.addLineItem({ cartId: id, productId: "events-tee", quantity: 2 });
    await alice.updateCart({ cart: { id, shippingAddress: address, email: "a@example.com" }, updateMask: { paths: ["shipping_address", "email"] } });
    await alice.addShippingMethod({ cartId: id, shippingOptionId: "events-std" });
    const { cart: source } = await client(server).createCart({ customerId: "guest:events-1", regionId: "events-us", items: [{ productId: "events-tee", quantity: 1 }] });
    await client(server).transferCart({ id: source!.id, customerId: "events-bob" });
    const { cart: target } = await client(server).createCart({ customerId: "events-bob", regionId: "events-us" });
    await client(server).mergeCarts({ sourceCartId: source!.id, targetCartId: target!.id });
    const { cart: deleted } = await alice.deleteCart({ id });

    const events = await outboxEvents([id]);
    expect(events.map((event) => [event.type, event.cartVersion, event.principal])).toEqual([
      [CartEventType.CART_CREATED, 1n, "events-alice"],
      [CartEventType.CART_CHANGED, 2n, "events-alice"],
      [CartEventType.CART_CHANGED, 3n, "events-alice"],
      [CartEventType.CART_CHANGED, 4n, "events-alice"],
      [CartEventType.CART_DELETED, 5n, "events-alice"],
    ]);
    expect(events.map((event) => event.changedAspects)).toEqual([
      [],
      [CartAspect.LINES],
      [CartAspect.ADDRESSES, CartAspect.DETAILS],
      [CartAspect.SHIPPING],
      [],
    ]);
    expect(events.at(-1)!.cart).toEqual(deleted);
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);

    const sourceEvents = await outboxEvents([source!.id]);
    expect(sourceEvents.map((event) => [event.type, event.previousCustomerId, event.cart!.customerId])).toEqual([
      [CartEventType.CART_CREATED, "", "guest:events-1"],
      [CartEventType.CART_TRANSFERRED, "guest:events-1", "events-bob"],
      [CartEventType.CART_MERGED, "", "events-bob"],
    ]);
    expect(sourceEvents.at(-1)!.cart!.mergedIntoCartId).toBe(target!.id);
    const targetEvents = await outboxEvents([target!.id]);
    expect(targetEvents.map((event) => [event.type, event.changedAspects])).toEqual([
      [CartEventType.CART_CREATED, []],
      [CartEventType.CART_CHANGED, [CartAspect.LINES]],
    ]);
  });

  it("records the expiry sweeper's cart.expired, with no principal", async () => {
    const { cart } = await client(server).createCart({ customerId: "events-expiring", regionId: "events-us" });
    // As if its lifetime had passed.
    await sql`update carts set expire_time = now() - interval '1 minute' where id = ${cart!.id}`;
    const expired = await eventually("the cart.expired event", async () =>
      (await outboxEvents([cart!.id])).find((event) => event.type === CartEventType.CART_EXPIRED),
    );
    expect(expired).toMatchObject({ cartVersion: 2n, principal: "", changedAspects: [] });
    expect(expired.cart).toMatchObject({ id: cart!.id, status: CartStatus.EXPIRED, etag: "2" });
  });

  it("records nothing for refused requests and idempotent replays", async () => {
    const carts = client(server);
    const { cart } = await carts.createCart({ customerId: "events-refused", regionId: "events-us" });
    const id = cart!.id;
    const before = await outboxEvents([id]);
    const mallory = client(server, await customerToken("events-mallory"));
    const refusals = await Promise.all([
      refusal(mallory.addLineItem({ cartId: id, productId: "events-tee", quantity: 1 })),
      refusal(carts.addLineItem({ cartId: id, productId: "events-tee", quantity: 1, etag: "99" })),
      refusal(carts.addLineItem({ cartId: id, productId: "events-missing", quantity: 1 })),
      refusal(carts.updateLineItem({ cartId: id, itemId: "00000000-0000-7000-8000-000000000000", quantity: 2 })),
      refusal(carts.completeCart({ id })),
    ]);
    expect(refusals.map((error) => error.code)).toEqual([
      Code.PermissionDenied,
      Code.Aborted,
      Code.NotFound,
      Code.NotFound,
      Code.FailedPrecondition,
    ]);
    expect(await outboxEvents([id])).toEqual(before);

    const headers = { "idempotency-key": `events-replay-${run}` };
    const first = await carts.addLineItem({ cartId: id, productId: "events-tee", quantity: 1 }, { headers });
    const replay = await carts.addLineItem({ cartId: id, productId: "events-tee", quantity: 1 }, { headers });
    expect(replay).toEqual(first);
    const after = await outboxEvents([id]);
    expect(after.map((event) => event.cartVersion)).toEqual([1n, 2n]);
  });
});

describe.skipIf(!natsUp)("the relay to the machine's NATS JetStream", () => {
  afterAll(stopServers);
  let server: TestServer;
  let connection: NatsConnection;
  const names = freshStream();
  beforeAll(async () => {
    server = await serve({ EVENTS_NATS_URL: machineNatsUrl, ...names });
    await prepareStore(server);
    connection = await natsClient(machineNatsUrl);
  });

  it("publishes 20 completions as exactly 20 order.placed CloudEvents carrying their orders", async () => {
    const ready = await Promise.all(Array.from({ length: 20 }, (_, n) => readyCart(server, `events-buyer-${n}`)));
    const completions = await Promise.all(ready.map((cart) => client(server).completeCart({ id: cart.id, paymentReference: `pay-${cart.id}` })));
    const placed = await eventually("20 order.placed events in the stream", async () => {
      const found = (await streamEvents(connection, names.EVENTS_NATS_STREAM)).filter(
        ({ subject }) => subject === `${names.EVENTS_NATS_SUBJECT_PREFIX}.order.placed`,
      );
      return found.length >= 20 ? found : undefined;
    });
    expect(placed).toHaveLength(20);
    const byCart = new Map(placed.map((entry) => [entry.event.cartId, entry]));
    for (const { order, cart } of completions) {
      const entry = byCart.get(cart!.id)!;
      expect(entry.event.order).toEqual(order);
      expect(entry.event.cart).toEqual(cart);
      expect(entry.envelope).toMatchObject({
        specversion: "1.0",
        type: "commerce.cart.v1.order.placed",
        source: "/commerce.cart.v1/carts",
        id: entry.event.id,
        subject: cart!.id,
        datacontenttype: "application/json",
      });
      expect(new Date(String(entry.envelope.time)).toISOString()).toBe(String(entry.envelope.time));
    }
    // Sent rows are marked once JetStream acknowledged them.
    const rows = await outboxEvents(completions.map(({ cart }) => cart!.id));
    await eventually("the events marked sent", async () => ((await outboxEvents(rows.map((row) => row.cartId))).every((row) => row.sent) ? true : undefined));
  });

  it("publishes 50 parallel adds to one cart as 50 cart.changed events in version order", async () => {
    const { cart } = await client(server).createCart({ customerId: "events-busy", regionId: "events-us" });
    await Promise.all(Array.from({ length: 50 }, () => client(server).addLineItem({ cartId: cart!.id, productId: "events-tee", quantity: 1 })));
    const changes = await eventually("50 change events of the cart", async () => {
      const found = (await streamEvents(connection, names.EVENTS_NATS_STREAM)).filter(
        ({ event }) => event.cartId === cart!.id && event.type === CartEventType.CART_CHANGED,
      );
      return found.length >= 50 ? found : undefined;
    });
    expect(changes.map(({ event }) => Number(event.cartVersion))).toEqual(Array.from({ length: 50 }, (_, n) => n + 2));
    expect(changes.at(-1)!.event.cart!.items[0]!.quantity).toBe(50);
  });

  it("stops with the service on SIGTERM: exit 0, nothing logged as an error", async () => {
    await server.stop();
    expect(await server.exited).toBe(0);
    expect(server.logs.filter((line) => line.level === "error")).toEqual([]);
    expect(server.logs.some((line) => line.message === "event relay connected")).toBe(true);
  });
});

describe.skipIf(!natsUp)("the relay with EVENTS_NATS_FORMAT=protobuf", () => {
  afterAll(stopServers);
  it("publishes binary-mode CloudEvents: ce- headers, the CartEvent in protobuf binary as the body", async () => {
    const names = freshStream();
    const server = await serve({ EVENTS_NATS_URL: machineNatsUrl, EVENTS_NATS_FORMAT: "protobuf", ...names });
    const { cart } = await client(server).createCart({ customerId: "events-binary" });
    const connection = await natsClient(machineNatsUrl);
    const message = await eventually("the event in the stream", async () =>
      (await streamMessages(connection, names.EVENTS_NATS_STREAM)).find(({ headers }) => headers["ce-subject"] === cart!.id),
    );
    const event = fromBinary(CartEventSchema, message.data);
    expect(message.subject).toBe(`${names.EVENTS_NATS_SUBJECT_PREFIX}.cart.created`);
    expect(message.headers).toMatchObject({
      "ce-specversion": "1.0",
      "ce-type": "commerce.cart.v1.cart.created",
      "ce-id": event.id,
      "content-type": "application/protobuf",
      "nats-msg-id": event.id,
    });
    expect(event.cart).toEqual(cart);
  });
});

describe.skipIf(!natsUp)("two processes relaying at once", () => {
  afterAll(stopServers);
  it("publish every event exactly once, each cart's in order", async () => {
    const names = freshStream();
    const env = { EVENTS_NATS_URL: machineNatsUrl, EVENTS_RELAY_BATCH_SIZE: "5", ...names };
    const [first, second] = await Promise.all([serve(env), serve(env)]);
    await prepareStore(first!);
    const carts = await Promise.all(
      Array.from({ length: 6 }, async (_, n) => (await client(n % 2 ? first! : second!).createCart({ customerId: `events-pair-${n}`, regionId: "events-us" })).cart!),
    );
    await Promise.all(
      carts.flatMap((cart, n) =>
        Array.from({ length: 10 }, (_, k) => client((n + k) % 2 ? first! : second!).addLineItem({ cartId: cart.id, productId: "events-tee", quantity: 1 })),
      ),
    );
    const ids = carts.map((cart) => cart.id);
    const expected = await outboxEvents(ids);
    expect(expected).toHaveLength(66);
    const connection = await natsClient(machineNatsUrl);
    const published = await eventually("all 66 events in the stream", async () => {
      const found = await streamEvents(connection, names.EVENTS_NATS_STREAM);
      return found.length >= 66 && (await outboxEvents(ids)).every((event) => event.sent) ? found : undefined;
    });
    expect(published.map(({ event }) => event.id).sort()).toEqual(expected.map((event) => event.id).sort());
    for (const id of ids) {
      const versions = published.filter(({ event }) => event.cartId === id).map(({ event }) => Number(event.cartVersion));
      expect(versions).toEqual(Array.from({ length: 11 }, (_, n) => n + 1));
    }
    // JetStream acknowledges a duplicate too: the two relays' counts add up to the events only if none was sent twice.
    expect((await metric(first!, "cart_events_published_total")) + (await metric(second!, "cart_events_published_total"))).toBe(66);
    expect((await metric(first!, "cart_events_published_total")) * (await metric(second!, "cart_events_published_total"))).toBeGreaterThan(0);
  });
});

describe.skipIf(!natsUp)("a relay killed between publishing and marking", () => {
  afterAll(stopServers);
  it("after a restart, every event is in the stream exactly once", async () => {
    const names = freshStream();
    const env = { EVENTS_NATS_URL: machineNatsUrl, ...names };
    const victim = await serve(env);
    await prepareStore(victim);
    const connection = await natsClient(machineNatsUrl);
    // Marking events sent stalls (for 3 s a statement), so the process can be killed once they are published.
    await sql.unsafe(`
      create function events_test_stall() returns trigger language plpgsql as $$ begin perform pg_sleep(3); return null; end $$;
      create trigger events_test_stall before update on cart_events for each statement execute function events_test_stall()`);
    let ids: string[];
    try {
      const carts = await Promise.all(
        Array.from({ length: 5 }, async (_, n) => (await client(victim).createCart({ customerId: `events-crash-${n}`, regionId: "events-us" })).cart!),
      );
      ids = carts.map((cart) => cart.id);
      await Promise.all(carts.flatMap((cart) => Array.from({ length: 3 }, () => client(victim).addLineItem({ cartId: cart.id, productId: "events-tee", quantity: 1 }))));
      await eventually("the 20 events published", async () =>
        (await streamMessages(connection, names.EVENTS_NATS_STREAM)).length >= 20 ? true : undefined,
      );
      process.kill(victim.pid, "SIGKILL");
      await victim.exited;
    } finally {
      await sql.unsafe(`drop trigger events_test_stall on cart_events; drop function events_test_stall()`);
    }
    const unsentAfterKill = (await outboxEvents(ids)).filter((event) => !event.sent).length;
    expect(unsentAfterKill).toBeGreaterThan(0);

    const successor = await serve(env);
    const expected = await outboxEvents(ids);
    await eventually("every event marked sent", async () => ((await outboxEvents(ids)).every((event) => event.sent) ? true : undefined));
    const published = await streamEvents(connection, names.EVENTS_NATS_STREAM);
    expect(published.map(({ event }) => event.id).sort()).toEqual(expected.map((event) => event.id).sort());
    // The successor sent the unmarked events again, and JetStream dropped them as duplicates (Nats-Msg-Id).
    expect(await metric(successor, "cart_events_published_total")).toBeGreaterThanOrEqual(unsentAfterKill);
  });
});

describe.skipIf(!natsServerInstalled)("while NATS is down", () => {
  afterAll(stopServers);
  it("carts keep working, the backlog grows and the log says why; afterwards every event arrives in order", async () => {
    const broker = await ownNats();
    try {
      await broker.start();
      const names = freshStream();
      const server = await serve({ EVENTS_NATS_URL: broker.url, ...names });
      await prepareStore(server);
      const { cart } = await client(server).createCart({ customerId: "events-outage", regionId: "events-us" });
      const connection = await connect({ servers: broker.url, timeout: 5_000 });
      await eventually("the first event published", async () => ((await outboxEvents([cart!.id]))[0]!.sent ? true : undefined));
      await connection.close();

      await broker.stop();
      for (let n = 0; n < 10; n++) await client(server).addLineItem({ cartId: cart!.id, productId: "events-tee", quantity: 1 });
      expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(200);
      await eventually("the backlog metric to show the 10 events", async () => ((await metric(server, "cart_events_backlog")) >= 10 ? true : undefined));
      expect(await metric(server, "cart_events_oldest_unsent_age_seconds")).toBeGreaterThan(0);
      await eventually("the log to say why events are delayed", async () =>
        server.logs.some((line) => line.message === "cart events delayed: the event relay cannot publish" && line.cause) ? true : undefined,
      );
      expect(await metric(server, "cart_events_publish_failures_total")).toBeGreaterThan(0);

      await broker.start();
      await eventually("the backlog to drain", async () => ((await outboxEvents([cart!.id])).every((event) => event.sent) ? true : undefined), 60_000);
      const after = await connect({ servers: broker.url, timeout: 5_000 });
      try {
        const published = (await streamEvents(after, names.EVENTS_NATS_STREAM)).filter(({ event }) => event.cartId === cart!.id);
        expect(published.map(({ event }) => Number(event.cartVersion))).toEqual(Array.from({ length: 11 }, (_, n) => n + 1));
      } finally {
        await after.close();
      }
      expect(await metric(server, "cart_events_backlog")).toBe(0);
      expect(server.logs.some((line) => line.message === "cart events flowing again")).toBe(true);
    } finally {
      await broker.dispose();
    }
  }, 120_000);
});

describe("watching", () => {
  afterAll(stopServers);
  let watched: TestServer;
  let changer: TestServer;
  beforeAll(async () => {
    [watched, changer] = await Promise.all([serve({}), serve({})]);
    await prepareStore(changer);
  });

  it("WatchCart over Connect, gRPC-Web and grpc-js streams the cart, then each change made through another process", async () => {
    const alice = await customerToken("events-watcher");
    const { cart } = await client(changer, alice).createCart({ customerId: "events-watcher", regionId: "events-us" });
    const id = cart!.id;
    for (const [name, transport] of Object.entries(connectTransports(watched.baseUrl, alice))) {
      const abort = new AbortController();
      const messages = clientFor(CartService, transport).watchCart({ id }, { signal: abort.signal })[Symbol.asyncIterator]();
      try {
        const first = (await nextWithin(messages)).cart!;
        const { cart: changed } = await client(changer, alice).addLineItem({ cartId: id, productId: "events-tee", quantity: 1 });
        const next = (await nextWithin(messages)).cart!;
        expect(next, name).toEqual(changed);
        expect(Number(next.etag), name).toBe(Number(first.etag) + 1);
      } finally {
        abort.abort();
      }
    }
    const { stream, close } = grpcJsServerStream("CartService", "WatchCart", watched.port, { id }, alice);
    try {
      const messages = (stream as AsyncIterable<{ cart: { etag: string; items: { quantity: number }[] } }>)[Symbol.asyncIterator]();
      const first = (await nextWithin(messages)).cart;
      await client(changer, alice).addLineItem({ cartId: id, productId: "events-tee", quantity: 1 });
      const next = (await nextWithin(messages)).cart;
      expect(Number(next.etag)).toBe(Number(first.etag) + 1);
      expect(next.items[0]!.quantity).toBe(first.items[0]!.quantity + 1);
    } finally {
      close();
    }
  });

  it("WatchCart refuses another customer's cart, and an unknown one, like GetCart", async () => {
    const { cart } = await client(changer).createCart({ customerId: "events-owner", regionId: "events-us" });
    const mallory = await customerToken("events-mallory");
    const unknown = "00000000-0000-7000-8000-000000000000";
    for (const [name, transport] of Object.entries(connectTransports(watched.baseUrl, mallory))) {
      const carts = clientFor(CartService, transport);
      const getRefused = await refusal(carts.getCart({ id: cart!.id }));
      const watchRefused = await refusal(nextWithin(carts.watchCart({ id: cart!.id })[Symbol.asyncIterator]()));
      expect([watchRefused.code, watchRefused.rawMessage], name).toEqual([getRefused.code, getRefused.rawMessage]);
      expect(watchRefused.code, name).toBe(Code.PermissionDenied);
      const getMissing = await refusal(carts.getCart({ id: unknown }));
      const watchMissing = await refusal(nextWithin(carts.watchCart({ id: unknown })[Symbol.asyncIterator]()));
      expect([watchMissing.code, watchMissing.rawMessage], name).toEqual([getMissing.code, getMissing.rawMessage]);
    }
    const { stream, close } = grpcJsServerStream("CartService", "WatchCart", watched.port, { id: cart!.id }, mallory);
    try {
      await expect(nextWithin(stream[Symbol.asyncIterator]())).rejects.toMatchObject({ code: Code.PermissionDenied });
    } finally {
      close();
    }
  });

  it("WatchEvents replays after a cursor, follows live, and resumes after a disconnect without gaps or repeats", async () => {
    const reader = await token({ sub: "events-feed", scope: "events:read" });
    const feed = clientFor(CartEventService, connectTransports(watched.baseUrl, reader)["connect+proto (HTTP/2)"]!);
    const { cart } = await client(changer).createCart({ customerId: "events-feed", regionId: "events-us" });
    const [marker] = await outboxEvents([cart!.id]);
    const watch = (afterEventId: string, types: CartEventType[] = []) => {
      const abort = new AbortController();
      return { abort, messages: feed.watchEvents({ afterEventId, types }, { signal: abort.signal })[Symbol.asyncIterator]() };
    };
    // Two changes before the watch starts (replayed), three while it runs (followed).
    const add = () => client(changer).addLineItem({ cartId: cart!.id, productId: "events-tee", quantity: 1 });
    await add();
    await add();
    const first = watch(marker!.id);
    const received: CartEvent[] = [];
    const take = async (messages: AsyncIterator<{ event?: CartEvent }>, count: number) => {
      for (let n = 0; n < count; n++) received.push((await nextWithin(messages)).event!);
    };
    await take(first.messages, 2);
    for (let n = 0; n < 3; n++) {
      await add();
      await take(first.messages, 1);
    }
    first.abort.abort();
    // Changes while disconnected, then a resumption after the last event received.
    for (let n = 0; n < 4; n++) await add();
    const resumed = watch(received.at(-1)!.id);
    await take(resumed.messages, 4);
    resumed.abort.abort();
    const expected = (await outboxEvents([cart!.id])).slice(1);
    expect(received.map((event) => event.id)).toEqual(expected.map((event) => event.id));
    expect(received.map((event) => Number(event.cartVersion))).toEqual(Array.from({ length: 9 }, (_, n) => n + 2));

    // Only the types asked for.
    const created = watch(marker!.id, [CartEventType.CART_CREATED]);
    const { cart: other } = await client(changer).createCart({ customerId: "events-feed", regionId: "events-us" });
    const next = (await nextWithin(created.messages)).event!;
    created.abort.abort();
    expect([next.type, next.cartId]).toEqual([CartEventType.CART_CREATED, other!.id]);
  });

  it("WatchEvents delivers an event whose transaction commits late before the later ones, not behind its cursor", async () => {
    const reader = await token({ sub: "events-feed", scope: "events:read" });
    const feed = clientFor(CartEventService, connectTransports(watched.baseUrl, reader)["connect+proto (HTTP/2)"]!);
    const { cart } = await client(changer).createCart({ customerId: "events-late", regionId: "events-us" });
    const [marker] = await outboxEvents([cart!.id]);
    const abort = new AbortController();
    const messages = feed.watchEvents({ afterEventId: marker!.id }, { signal: abort.signal })[Symbol.asyncIterator]();
    // A transaction that writes its event first (smaller seq) and commits after a change made through the service.
    const late = await sql.reserve();
    const lateId = randomUUID();
    try {
      const lateEvent = create(CartEventSchema, { id: lateId, type: CartEventType.CART_CHANGED, cartId: randomUUID(), cartVersion: 2n });
      await late`begin`;
      await late`insert into cart_events (id, type, cart_id, cart_version, time, data)
                 values (${lateId}, 'cart.changed', ${lateEvent.cartId}, 2, now(), ${Buffer.from(toBinary(CartEventSchema, lateEvent))})`;
      await client(changer).addLineItem({ cartId: cart!.id, productId: "events-tee", quantity: 1 });
      await late`commit`;
    } finally {
      late.release();
    }
    const [changed] = (await outboxEvents([cart!.id])).slice(1);
    const received = [(await nextWithin(messages)).event!.id, (await nextWithin(messages)).event!.id];
    abort.abort();
    expect(received).toEqual([lateId, changed!.id]);
  });

  it("WatchEvents needs the events:read scope and a cursor still in the outbox", async () => {
    const feed = (bearerToken: string) => clientFor(CartEventService, connectTransports(watched.baseUrl, bearerToken)["connect+json (HTTP/1.1)"]!);
    const withoutScope = await refusal(nextWithin(feed(adminToken).watchEvents({})[Symbol.asyncIterator]()));
    expect(withoutScope.code).toBe(Code.PermissionDenied);
    const reader = await token({ sub: "events-feed", scope: "events:read" });
    const unknown = await refusal(nextWithin(feed(reader).watchEvents({ afterEventId: "00000000-0000-7000-8000-000000000000" })[Symbol.asyncIterator]()));
    expect(unknown.code).toBe(Code.NotFound);
    expect(unknown.rawMessage).toMatch(/event 00000000-0000-7000-8000-000000000000 is not in the change feed/);
  });
});

describe("the watches of one process", () => {
  afterAll(stopServers);
  it("are at most EVENTS_MAX_WATCHERS: beyond, a watch is refused with RESOURCE_EXHAUSTED, and freed places are taken again", async () => {
    const server = await serve({ EVENTS_MAX_WATCHERS: "1" });
    const { cart } = await client(server).createCart({ customerId: "events-few", regionId: "events-us" });
    const abort = new AbortController();
    const open = client(server).watchCart({ id: cart!.id }, { signal: abort.signal })[Symbol.asyncIterator]();
    await nextWithin(open);
    const refused = await refusal(nextWithin(client(server).watchCart({ id: cart!.id })[Symbol.asyncIterator]()));
    expect(refused.code).toBe(Code.ResourceExhausted);
    abort.abort();
    await eventually("the place to be free again", async () => {
      const again = new AbortController();
      try {
        await nextWithin(client(server).watchCart({ id: cart!.id }, { signal: again.signal })[Symbol.asyncIterator]());
        return true;
      } catch {
        return undefined;
      } finally {
        again.abort();
      }
    });
  });
});
