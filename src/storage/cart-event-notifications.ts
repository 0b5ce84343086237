import { setTimeout as sleep } from "node:timers/promises";
import type { Sql } from "./database.js";
import type { FeedPosition, OutboxRepository } from "./outbox-repository.js";

/** What a notification of committed cart events says of each cart. */
export interface CartEventNotice {
  readonly cartId: string;
  readonly cartVersion: number;
}

/** The channel committed cart events are announced on. */
const channel = "cart_events";
/** NOTIFY refuses payloads from 8000 bytes; one notice takes at most 48 ("<uuid> <version>\n"). */
const payloadMaxBytes = 7_900;
/**
 * Carts whose notices wait while the NOTIFY before them is under way. Beyond,
 * (the database is slow or away) one "look at everything" notice replaces
 * the rest, so the wait costs at most this many entries of memory.
 */
const maxPendingCarts = 10_000;
/** How long a failed NOTIFY waits before the next attempt. */
const retryAfterFailureMs = 1_000;
/** The payload telling listeners that notices were dropped: every watch looks again. */
const everything = "*";

/**
 * Announces committed cart events to every process (the relay and the
 * watches listen, see listenForCartEvents). It NOTIFYs after the commit,
 * from a transaction of its own, because a transaction that NOTIFYs takes a
 * server-wide lock from its pre-commit until its commit is flushed: a
 * NOTIFY inside every cart mutation serialized all their commits. One NOTIFY
 * is under way at a time; the notices of the commits meanwhile go together
 * in the next one, a cart once with its latest version. When a NOTIFY fails,
 * its notices are replaced by one "look at everything" notice, sent after a
 * pause (and logged through `onFailure` once per series). A process that dies
 * between a commit and its NOTIFY loses that notice: the relay still polls,
 * and watches see the change with the cart's next one.
 */
export class CartEventNotifier {
  private pending = new Map<string, number>();
  private overflowed = false;
  private sending = false;

  constructor(
    private readonly sql: Sql,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  /** Events of these carts committed. */
  committed(notices: readonly CartEventNotice[]): void {
    for (const { cartId, cartVersion } of notices) {
      const known = this.pending.get(cartId);
      if (known === undefined && this.pending.size >= maxPendingCarts) this.overflowed = true;
      else this.pending.set(cartId, Math.max(known ?? 0, cartVersion));
    }
    if (!this.sending && (this.pending.size > 0 || this.overflowed)) void this.send();
  }

  private async send(): Promise<void> {
    this.sending = true;
    let failing = false;
    while (this.pending.size > 0 || this.overflowed) {
      const payloads = this.overflowed ? [everything] : payloadsOf(this.pending);
      this.pending = new Map();
      this.overflowed = false;
      try {
        await this.sql`select pg_notify(${channel}, payload) from unnest(${payloads}::text[]) as payload`;
        failing = false;
      } catch (error) {
        // The notices are lost: the next NOTIFY, after a pause, makes every watch look again.
        if (!failing) this.onFailure(error);
        failing = true;
        this.overflowed = true;
        await sleep(retryAfterFailureMs);
      }
    }
    this.sending = false;
  }
}

/** The notices as few payloads as NOTIFY's size limit allows: "<cart id> <version>" lines. */
function payloadsOf(notices: ReadonlyMap<string, number>): string[] {
  const payloads: string[] = [];
  let payload = "";
  for (const [cartId, version] of notices) {
    const line = `${cartId} ${version}`;
    if (payload && payload.length + 1 + line.length > payloadMaxBytes) {
      payloads.push(payload);
      payload = "";
    }
    payload = payload ? `${payload}\n${line}` : line;
  }
  if (payload) payloads.push(payload);
  return payloads;
}

/**
 * Listens for committed cart events on a connection of its own (postgres.js
 * reconnects it and listens again). `onLost` runs each time listening
 * (re)starts, and when notices were dropped: whoever waits for them should
 * look again.
 */
export async function listenForCartEvents(
  sql: Sql,
  onNotice: (notice: CartEventNotice) => void,
  onLost: () => void,
): Promise<{ unlisten(): Promise<void> }> {
  return sql.listen(
    channel,
    (payload) => {
      if (payload === everything) return onLost();
      for (const line of payload.split("\n")) {
        const [cartId, version] = line.split(" ");
        if (cartId && version) onNotice({ cartId, cartVersion: Number(version) });
      }
    },
    onLost,
  );
}

/** How often a process that cannot listen looks for committed events. */
const pollIntervalMs = 500;
/** Events read at a time while polling. */
const pollPageSize = 200;

/**
 * What a process does instead of listening when its connections go through a
 * pooler in transaction mode (DB_TRANSACTION_POOLING), where a LISTEN stays
 * on whichever server connection ran it: it reads the change feed every
 * `pollIntervalMs` from where it last stopped (OutboxRepository.feedAfter,
 * which holds an event of a transaction that commits late back until it is
 * next, so none is skipped) and passes on each event's notice. A failed
 * read is retried from the same place; `onFailure` hears of the first of a
 * series.
 */
export function pollForCartEvents(
  outbox: OutboxRepository,
  onNotice: (notice: CartEventNotice) => void,
  onFailure: (error: unknown) => void,
): { unlisten(): Promise<void> } {
  let stopped = false;
  let failing = false;
  let timer: NodeJS.Timeout | undefined;
  let position: FeedPosition | undefined;
  let started = false;
  const look = async () => {
    try {
      if (!started) {
        position = await outbox.feedEnd();
        started = true;
      }
      for (let full = true; full && !stopped; ) {
        const { events } = await outbox.feedAfter(position, pollPageSize);
        for (const event of events) onNotice({ cartId: event.cartId, cartVersion: event.cartVersion });
        position = events.at(-1)?.position ?? position;
        full = events.length === pollPageSize;
      }
      failing = false;
    } catch (error) {
      if (!failing) onFailure(error);
      failing = true;
    }
  };
  let running = look();
  const schedule = () => {
    if (!stopped) timer = setTimeout(() => void (running = look().then(schedule)), pollIntervalMs);
  };
  void running.then(schedule);
  return {
    async unlisten() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
