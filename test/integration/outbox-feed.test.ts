import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import postgres from "postgres";
import { afterAll, describe, expect, inject, it } from "vitest";
import { connectDatabase, type Sql } from "../../src/storage/database.js";
import { type FeedPosition, insertEvents, type OutboxEvent, OutboxRepository } from "../../src/storage/outbox-repository.js";

/**
 * The change feed's reads (OutboxRepository.feedAfter) against the run's
 * PostgreSQL, with a transaction of the test's own that holds events back.
 * The events are made up: their cart ids are random and belong to no cart.
 */

const database = connectDatabase({ url: inject("databaseUrl"), poolSize: 2, statementTimeoutMs: 5_000, lockTimeoutMs: 3_000 });
/** The client of the transactions that hold events back. */
const holders = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
const outbox = new OutboxRepository(database.sql);

afterAll(async () => {
  await holders.end();
  await database.close();
});

/** Commits a made-up event in a transaction of its own and returns it. */
async function commitEvent(): Promise<OutboxEvent> {
  const event: OutboxEvent = {
    id: randomUUID(),
    type: "cart.changed",
    cartId: randomUUID(),
    cartVersion: 1,
    time: new Date(),
    // A valid (empty) CartEvent: other readers of this database may decode it.
    data: new Uint8Array(),
  };
  await database.sql.begin((tx) => insertEvents(tx, [event]) || undefined);
  return event;
}

/** A transaction with a transaction id, left running until `end`: every event committed meanwhile waits for it. */
async function runningTransaction() {
  const connection = await holders.reserve();
  await connection`begin`;
  await connection`select pg_current_xact_id()`;
  let ended = false;
  return {
    async end() {
      if (ended) return;
      ended = true;
      await connection`commit`;
      connection.release();
    },
  };
}

/**
 * `sql` running its statements one at a time, with `between` run after the
 * first ended and before the second begins: another session's work landing
 * between two statements of one read, whose snapshots then differ.
 */
function pausingAfterFirstStatement(sql: Sql, between: () => Promise<unknown>): Sql {
  let previous: Promise<unknown> = Promise.resolve();
  let statements = 0;
  return new Proxy(sql, {
    apply(target, thisArg, args: unknown[]) {
      const pause = statements++ === 1 ? between : () => undefined;
      const result = previous.then(pause).then(() => Reflect.apply(target, thisArg, args) as Promise<unknown>);
      previous = result.catch(() => {});
      return result;
    },
  });
}

/** Reads the feed after `position` until `eventId` is in it; bounded (transactions of other test files may run meanwhile). */
async function eventuallyInFeed(position: FeedPosition, eventId: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await outbox.feedAfter(position, 10_000)).events.some((event) => event.id === eventId)) {
    if (Date.now() > deadline) throw new Error(`event ${eventId} never reached the feed`);
    await sleep(50);
  }
}

describe("the change feed", () => {
  it("holds an event back while an older transaction runs, says so, and gives it once that transaction is over", async () => {
    const marker = await commitEvent();
    const position = (await outbox.feedPosition(marker.id))!;
    const older = await runningTransaction();
    try {
      const late = await commitEvent();
      const held = await outbox.feedAfter(position, 10_000);
      expect(held.events.map((event) => event.id)).not.toContain(late.id);
      expect(held.heldBack).toBe(true);
      await older.end();
      await eventuallyInFeed(position, late.id);
    } finally {
      await older.end();
    }
  });

  it("reads the page and whether events are held back in one snapshot: a transaction ending meanwhile loses no event", async () => {
    const marker = await commitEvent();
    const position = (await outbox.feedPosition(marker.id))!;
    const older = await runningTransaction();
    try {
      const late = await commitEvent();
      // The older transaction ends between the read's statements, if it takes more than one.
      const feed = new OutboxRepository(pausingAfterFirstStatement(database.sql, () => older.end()));
      const { events, heldBack } = await feed.feedAfter(position, 10_000);
      // Neither in the page nor held back, the event would wait for a notification already spent.
      const delivered = events.some((event) => event.id === late.id);
      expect({ delivered, heldBack }).not.toEqual({ delivered: false, heldBack: false });
      await older.end();
      await eventuallyInFeed(position, late.id);
    } finally {
      await older.end();
    }
  });
});
