import { setTimeout as sleep } from "node:timers/promises";
import type { Sql } from "./database.js";

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
