import type { Config } from "../config.js";
import { causeOf, type Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { EventWatchers } from "../service/event-watchers.js";
import { type CartEventNotice, listenForCartEvents } from "../storage/cart-event-notifications.js";
import type { Sql } from "../storage/database.js";
import type { OutboxRepository } from "../storage/outbox-repository.js";
import { startSweeper } from "../sweeper.js";
import { pollForCartEvents } from "./feed-poller.js";
import { NatsRelay } from "./nats-relay.js";

export interface EventDeliveryOptions {
  readonly config: Pick<Config, "eventsNats" | "eventsRetentionMs" | "dbTransactionPooling">;
  readonly sql: Sql;
  readonly outbox: OutboxRepository;
  readonly watchers: EventWatchers;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/** Events deleted per statement of the pruning pass. */
const pruneBatchSize = 1_000;
/**
 * What every process runs for the outbox: the listener for the NOTIFY that
 * announces committed events (CartEventNotifier; behind a transaction
 * pooler, a poll of the change feed instead), which wakes the watches (WatchCart, WatchEvents)
 * and, with EVENTS_NATS_URL, the relay; and the pruning of events older than
 * EVENTS_RETENTION_HOURS (sent ones only, when a relay runs). Returns a
 * function that ends the watches, stops the rest and resolves once stopped.
 */
export async function startEventDelivery(options: EventDeliveryOptions): Promise<() => Promise<void>> {
  const { config, sql, outbox, watchers, log, metrics } = options;
  const relay = config.eventsNats && new NatsRelay({ config: config.eventsNats, outbox, log, metrics });
  relay?.start();
  const onNotice = (notice: CartEventNotice) => {
    relay?.wake();
    watchers.notice(notice);
  };
  const listening = config.dbTransactionPooling
    ? pollForCartEvents(outbox, onNotice, (error) =>
        log.warn("cannot read the change feed for watches: they wait until it can be read", {
          cause: causeOf(error),
        }),
      )
    : await listenForCartEvents(sql, onNotice, () => {
        relay?.wake();
        watchers.wakeAll();
      });
  const stopPruning = startSweeper({
    name: "event_pruning",
    intervalMs: 10 * 60_000,
    sweep: async () => {
      const cutoff = new Date(Date.now() - config.eventsRetentionMs);
      let total = 0;
      for (let pruned = pruneBatchSize; pruned === pruneBatchSize; total += pruned) {
        pruned = await outbox.prune(cutoff, pruneBatchSize, relay !== undefined);
      }
      return total;
    },
    log,
    metrics,
  });
  return async () => {
    watchers.close();
    await Promise.all([stopPruning(), relay?.stop(), listening.unlisten().catch(() => {})]);
  };
}
