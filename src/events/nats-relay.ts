import { setTimeout as sleep } from "node:timers/promises";
import { connect, headers as natsHeaders, type JetStreamClient, type NatsConnection } from "nats";
import type { EventsNatsConfig } from "../config.js";
import { causeOf, type Logger } from "../logger.js";
import type { OutboxRepository, StoredEvent } from "../storage/outbox-repository.js";
import { binaryProtobufEvent, structuredJsonEvent } from "./cloudevents.js";

export interface RelayMetrics {
  eventsPublished(count: number): void;
  eventPublishFailed(): void;
}

export interface NatsRelayOptions {
  readonly config: EventsNatsConfig;
  readonly outbox: OutboxRepository;
  readonly log: Logger;
  readonly metrics: RelayMetrics;
}

/** How long a publish waits for JetStream's acknowledgement before it counts as failed. */
const publishTimeoutMs = 3_000;
/** How long a connection attempt may take. */
const connectTimeoutMs = 3_000;
/** Retry delays while the broker or the database fails: doubling from the first to the last. */
const firstRetryMs = 100;
const longestRetryMs = 5_000;
/** Without a notification, the outbox is looked at this often (a notification can be missed while reconnecting). */
const pollIntervalMs = 1_000;
/** While events are delayed, the warning saying why is repeated at most this often. */
const delayWarningIntervalMs = 60_000;

/**
 * Publishes the outbox's events to NATS JetStream, one subject per type
 * (`<prefix>.order.placed`), with the event id as Nats-Msg-Id so that the
 * stream drops the copy a crash between publishing and marking would send
 * again (within its duplicate window). Every process runs one; claims with
 * FOR UPDATE SKIP LOCKED keep them from sending an event twice or out of
 * order for its cart (see OutboxRepository.relayBatch). A cart's events are
 * published one after another, each acknowledged before the next; those of
 * different carts at once.
 *
 * While the broker (or the database) fails, the relay retries with backoff,
 * the events wait in the outbox, and the log says why; carts keep working.
 */
export class NatsRelay {
  private connection: NatsConnection | undefined;
  private jetstream: JetStreamClient | undefined;
  private stopped = false;
  private readonly stopping = new AbortController();
  private wakeUp: (() => void) | undefined;
  /** A wake-up that came while no pause was under way: the next pause ends at once. */
  private wokenMeanwhile = false;
  private running: Promise<void> | undefined;
  /** Since when events are delayed, and when that was last logged; undefined while the relay keeps up. */
  private delay: { since: number; loggedAt: number } | undefined;
  private readonly encode: (event: StoredEvent) => ReturnType<typeof structuredJsonEvent>;

  constructor(private readonly options: NatsRelayOptions) {
    this.encode = options.config.format === "json" ? structuredJsonEvent : binaryProtobufEvent;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Events were committed: look at the outbox now rather than at the next poll. */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.wokenMeanwhile = true;
  }

  /** Stops after the batch under way (its events are marked or stay unsent) and closes the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    await this.running;
    await this.connection?.close().catch(() => {});
  }

  private async run(): Promise<void> {
    let retryMs = firstRetryMs;
    while (!this.stopped) {
      let full = false;
      try {
        const jetstream = this.jetstream ?? (await this.connect());
        const failure: { error?: unknown } = {};
        const { claimed, sent } = await this.options.outbox.relayBatch(this.options.config.batchSize, (events) =>
          this.publish(jetstream, events, failure),
        );
        if (sent < claimed) throw failure.error;
        this.recovered();
        retryMs = firstRetryMs;
        full = claimed === this.options.config.batchSize;
      } catch (error) {
        if (this.stopped) break;
        this.delayed(error);
        await this.pause(retryMs);
        retryMs = Math.min(retryMs * 2, longestRetryMs);
        continue;
      }
      if (!full) await this.pause(pollIntervalMs, true);
    }
  }

  /**
   * Publishes `events`: each cart's one after another, each acknowledged
   * before the next, different carts' at once. A cart's events stop at its
   * first failure, so none of them can overtake it. Returns those JetStream
   * acknowledged.
   */
  private async publish(jetstream: JetStreamClient, events: readonly StoredEvent[], failure: { error?: unknown }): Promise<StoredEvent[]> {
    const { subjectPrefix } = this.options.config;
    const byCart = new Map<string, StoredEvent[]>();
    for (const event of events) {
      const chain = byCart.get(event.cartId);
      if (chain) chain.push(event);
      else byCart.set(event.cartId, [event]);
    }
    const published: StoredEvent[] = [];
    await Promise.all(
      [...byCart.values()].map(async (cartEvents) => {
        for (const event of cartEvents) {
          const { headers, body } = this.encode(event);
          const natsHeaderSet = natsHeaders();
          for (const [name, value] of headers) natsHeaderSet.set(name, value);
          try {
            await jetstream.publish(`${subjectPrefix}.${event.type}`, body, { msgID: event.id, headers: natsHeaderSet, timeout: publishTimeoutMs });
          } catch (error) {
            this.options.metrics.eventPublishFailed();
            failure.error = error;
            return;
          }
          published.push(event);
        }
      }),
    );
    this.options.metrics.eventsPublished(published.length);
    return published;
  }

  /** Connects (the client then reconnects by itself) and makes sure the stream exists. */
  private async connect(): Promise<JetStreamClient> {
    const { servers, stream, subjectPrefix } = this.options.config;
    const connection = await connect({
      servers: [...servers],
      name: "cart-service event relay",
      timeout: connectTimeoutMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
    try {
      const manager = await connection.jetstreamManager();
      // An existing stream is used as it is: its subjects, limits and duplicate window are the operator's.
      await manager.streams.info(stream).catch(async (error: unknown) => {
        if ((error as { code?: string }).code !== "404") throw error;
        await manager.streams.add({ name: stream, subjects: [`${subjectPrefix}.>`] });
      });
    } catch (error) {
      await connection.close().catch(() => {});
      throw error;
    }
    if (this.stopped) {
      // stop() ran while connecting: it had no connection to close.
      await connection.close().catch(() => {});
      throw new Error("the event relay stopped");
    }
    this.connection = connection;
    this.jetstream = connection.jetstream();
    this.options.log.info("event relay connected", { servers, stream });
    return this.jetstream;
  }

  private delayed(error: unknown): void {
    const now = Date.now();
    const cause = causeOf(error);
    if (!this.delay || now - this.delay.loggedAt >= delayWarningIntervalMs) {
      this.options.log.warn("cart events delayed: the event relay cannot publish", {
        cause,
        delayedForMs: this.delay ? now - this.delay.since : 0,
        stream: this.options.config.stream,
      });
      this.delay = { since: this.delay?.since ?? now, loggedAt: now };
    } else {
      this.options.log.debug("event relay retry failed", { cause });
    }
  }

  private recovered(): void {
    if (!this.delay) return;
    this.options.log.info("cart events flowing again", { delayedForMs: Date.now() - this.delay.since });
    this.delay = undefined;
  }

  /** Waits `ms`, or less when stopped (or, if `wakeable`, when woken). */
  private async pause(ms: number, wakeable = false): Promise<void> {
    if (wakeable && this.wokenMeanwhile) {
      this.wokenMeanwhile = false;
      return;
    }
    const woken = new Promise<void>((resolve) => (this.wakeUp = wakeable ? resolve : undefined));
    await Promise.race([sleep(ms, undefined, { signal: this.stopping.signal }).catch(() => {}), woken]);
    this.wakeUp = undefined;
    this.wokenMeanwhile = false;
  }
}
