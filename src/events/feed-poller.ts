import { setTimeout as sleep } from "node:timers/promises";
import type { CartEventNotice } from "../storage/cart-event-notifications.js";
import type { FeedPosition, OutboxRepository } from "../storage/outbox-repository.js";

/** How often a process that cannot listen looks for committed events. */
const pollIntervalMs = 500;
/** Events read at a time. */
const pageSize = 200;

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
  const stopping = new AbortController();
  const running = (async () => {
    // Unknown until the first read succeeds: where the feed ends at start-up.
    let position: FeedPosition | undefined | null = null;
    let failing = false;
    while (!stopping.signal.aborted) {
      try {
        if (position === null) position = await outbox.feedEnd();
        for (let full = true; full && !stopping.signal.aborted; ) {
          const { events } = await outbox.feedAfter(position, pageSize);
          for (const event of events) onNotice({ cartId: event.cartId, cartVersion: event.cartVersion });
          position = events.at(-1)?.position ?? position;
          full = events.length === pageSize;
        }
        failing = false;
      } catch (error) {
        if (!failing) onFailure(error);
        failing = true;
      }
      await sleep(pollIntervalMs, undefined, { signal: stopping.signal }).catch(() => {});
    }
  })();
  return {
    async unlisten() {
      stopping.abort();
      await running;
    },
  };
}
