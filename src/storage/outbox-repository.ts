import type { Cart } from "../domain/cart.js";
import type { Order } from "../domain/order.js";
import type { Sql, Tx } from "./database.js";

/** A cart event as the outbox stores it (see the cart_events table in ./schema.ts). */
export interface OutboxEvent {
  readonly id: string;
  /** The event type's short name, e.g. "order.placed". */
  readonly type: string;
  readonly cartId: string;
  readonly cartVersion: number;
  readonly time: Date;
  /** The CartEvent message, protobuf binary. */
  readonly data: Uint8Array;
}

/** An event read back from the outbox, with its place in it. */
export interface StoredEvent extends OutboxEvent {
  readonly seq: bigint;
}

/**
 * Makes the event describing a change from `before` (undefined for a new
 * cart) to `after`; `order` is the order the change placed, if any. The
 * service layer provides it (it knows the message format and the caller);
 * the repositories call it for every cart they write, so every mutation
 * committing through them has its event without asking for one.
 */
export type DescribeCartEvent = (before: Cart | undefined, after: Cart, order: Order | undefined) => OutboxEvent;

/** The statement inserting `events` in the caller's transaction (false for none, for `pipelined`). */
export function insertEvents(tx: Tx, events: readonly OutboxEvent[]) {
  return (
    events.length > 0 &&
    tx`insert into cart_events ${tx(
      events.map((event) => ({
        id: event.id,
        type: event.type,
        cart_id: event.cartId,
        cart_version: event.cartVersion,
        time: event.time.toISOString(),
        data: Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength),
      })),
    )}`
  );
}

interface EventRow {
  seq: bigint;
  id: string;
  type: string;
  cart_id: string;
  cart_version: bigint;
  time: string;
  data: Buffer;
}

const toStoredEvent = (row: EventRow): StoredEvent => ({
  seq: row.seq,
  id: row.id,
  type: row.type,
  cartId: row.cart_id,
  cartVersion: Number(row.cart_version),
  time: new Date(row.time),
  data: row.data,
});

/** A place in the change feed: after the event of this transaction and sequence number. */
export interface FeedPosition {
  /** The writing transaction's id (xid8, as text). */
  readonly xid: string;
  readonly seq: bigint;
}

export interface FeedEvent extends StoredEvent {
  readonly position: FeedPosition;
}

export interface OutboxBacklog {
  /** Events not yet acknowledged by the broker. */
  readonly unsent: number;
  /** When the oldest of them happened; undefined when there are none. */
  readonly oldestTime: Date | undefined;
}

/** The relay's side of the outbox: claiming, marking, pruning, measuring. */
export class OutboxRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Claims up to `limit` unsent events in a transaction, oldest first, hands
   * them to `publish` and marks as sent those it reports published. Rows another relay holds are skipped (FOR UPDATE SKIP
   * LOCKED), and so is every event of a cart with an earlier unsent event
   * this claim did not get: a cart's events are therefore published in
   * order, whichever relays run. Returns how many were claimed and sent.
   */
  async relayBatch(
    limit: number,
    publish: (events: readonly StoredEvent[]) => Promise<readonly StoredEvent[]>,
  ): Promise<{ claimed: number; sent: number }> {
    return this.sql.begin(async (tx) => {
      const rows = await tx<EventRow[]>`
        with claimed as (
          select seq from cart_events where sent_at is null order by seq limit ${limit} for update skip locked
        )
        select e.seq, e.id, e.type, e.cart_id, e.cart_version, e.time, e.data
        from cart_events e join claimed using (seq)
        where not exists (
          select 1 from cart_events earlier
          where earlier.cart_id = e.cart_id and earlier.sent_at is null and earlier.seq < e.seq
            and earlier.seq not in (select seq from claimed))
        order by e.seq`;
      if (rows.length === 0) return { claimed: 0, sent: 0 };
      const events = rows.map(toStoredEvent);
      const sent = await publish(events);
      if (sent.length > 0) {
        await tx`update cart_events set sent_at = now() where seq = any(${sent.map((event) => event.seq.toString())}::int8[])`;
      }
      return { claimed: events.length, sent: sent.length };
    });
  }

  async backlog(): Promise<OutboxBacklog> {
    const [row] = await this.sql<{ unsent: bigint; oldest: string | null }[]>`
      select count(*) as unsent, min(time) as oldest from cart_events where sent_at is null`;
    return { unsent: Number(row!.unsent), oldestTime: row!.oldest === null ? undefined : new Date(row!.oldest) };
  }

  /**
   * Deletes up to `limit` events older than `cutoff`: only those sent when
   * `sentOnly` (a relay runs), else any (nothing would ever send them).
   * Returns how many.
   */
  async prune(cutoff: Date, limit: number, sentOnly: boolean): Promise<number> {
    const rows = await this.sql`
      delete from cart_events where seq in (
        select seq from cart_events
        where time < ${cutoff.toISOString()}::timestamptz and (not ${sentOnly}::bool or sent_at is not null)
        order by seq limit ${limit})
      returning seq`;
    return rows.length;
  }

  /** The change feed's last position so far (see feedAfter); undefined while it has no event. */
  async feedEnd(): Promise<FeedPosition | undefined> {
    const [row] = await this.sql<FeedPosition[]>`
      select xid::text as xid, seq from cart_events
      where xid < pg_snapshot_xmin(pg_current_snapshot())
      order by xid desc, seq desc limit 1`;
    return row;
  }

  /** Where the event with this id is in the change feed; undefined when it is not (or no longer) in the outbox. */
  async feedPosition(eventId: string): Promise<FeedPosition | undefined> {
    const [row] = await this.sql<FeedPosition[]>`select xid::text as xid, seq from cart_events where id = ${eventId}`;
    return row;
  }

  /**
   * The change feed's next page: up to `limit` events after `after` (from
   * the first when undefined), in (xid, seq) order, and only events of
   * transactions older than the oldest one still running. An event of a
   * transaction that commits late therefore waits until it is over instead
   * of appearing behind a reader's position; then it is next. `heldBack`
   * says whether events wait so (the reader should look again soon even
   * without a notification: the transaction holding them back may write no
   * event).
   */
  async feedAfter(after: FeedPosition | undefined, limit: number): Promise<{ events: FeedEvent[]; heldBack: boolean }> {
    // One statement, so one snapshot: the page and the flag agree on which
    // transactions are still running. Read apart, a transaction ending between
    // them left its held-back events out of the page and out of the flag, and
    // the reader waited for a notification already spent on them.
    const rows = await this.sql<({ held_back: boolean } & ((EventRow & FeedPosition) | { seq: null }))[]>`
      select held.held_back, page.seq, page.id, page.type, page.cart_id, page.cart_version, page.time, page.data, page.xid::text as xid
      from (select exists (select 1 from cart_events where xid >= pg_snapshot_xmin(pg_current_snapshot())) as held_back) held
      left join (
        select seq, id, type, cart_id, cart_version, time, data, xid from cart_events
        where (${after === undefined}::bool or (xid, seq) > (${after?.xid ?? "0"}::xid8, ${after?.seq.toString() ?? "0"}::int8))
          and xid < pg_snapshot_xmin(pg_current_snapshot())
        order by xid, seq limit ${limit}
      ) page on true
      order by page.xid, page.seq`;
    const events = rows.filter((row): row is typeof row & EventRow & FeedPosition => row.seq !== null);
    return { events: events.map((row) => ({ ...toStoredEvent(row), position: { xid: row.xid, seq: row.seq } })), heldBack: rows[0]!.held_back };
  }
}
