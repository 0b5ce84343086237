import cluster from "node:cluster";
import { Code, ConnectError } from "@connectrpc/connect";
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram } from "prom-client";
import type { RelayMetrics } from "./events/nats-relay.js";
import type { OutboxBacklog } from "./storage/outbox-repository.js";

export interface MetricsOptions {
  /** Connections the database pool may open. */
  readonly dbPoolSize: number;
  /** Database transactions under way in this process (see storage/database.ts). */
  readonly dbTransactionsInFlight: () => number;
  /** False while the database is known to be unreachable, and calls that need it are refused. */
  readonly databaseAvailable: () => boolean;
  /** The events the relay has not published yet (asked at each scrape). */
  readonly eventBacklog: () => Promise<OutboxBacklog>;
}

/** The instruments of one method on one protocol. */
export interface RpcInstruments {
  /** The call has begun: it counts as in flight until `finished`. */
  started(): void;
  /** The call has answered with `code` ("OK" or a Code name) after `seconds`. */
  finished(code: string, seconds: number): void;
  /** The call was answered with the stored response of an earlier one with the same idempotency key. */
  replayed(): void;
}

export type SweepOutcome = { readonly seconds: number } & ({ readonly removed: number } | { readonly failed: true });

type RpcLabel = "service" | "method" | "protocol";

/** What the calls of one method on one protocol counted since the service started. */
interface RpcCounts {
  readonly labels: Record<RpcLabel, string>;
  inFlight: number;
  /** Calls answered, by code. */
  readonly answered: Map<string, number>;
  /** Of those, how many cart_rpc_requests_total already counts. */
  readonly reported: Map<string, number>;
}

const clusterMetricsRequest = "cart-service:cluster-metrics-request";
const clusterMetricsResponse = "cart-service:cluster-metrics-response";
/** Longer than prom-client's own 5 s wait for the workers' answers, so that its error arrives first. */
const clusterMetricsTimeoutMs = 7_000;

interface ClusterMetricsMessage {
  readonly type?: string;
  readonly id?: number;
  readonly text?: string;
  readonly error?: string;
}

/**
 * The service's Prometheus metrics, in a registry of its own (not prom-client's
 * global one), with prom-client's default process metrics. In a cluster
 * worker, the exposition is the sum over every worker, gathered by the
 * primary (see `answerClusterMetricsRequests`).
 */
export class Metrics implements RelayMetrics {
  readonly registry = new AggregatorRegistry();
  private readonly requests = new Counter<RpcLabel | "code">({
    name: "cart_rpc_requests_total",
    help: "RPCs answered, by service, method, protocol and code (OK or the gRPC code name).",
    labelNames: ["service", "method", "protocol", "code"],
    registers: [this.registry],
    collect: () => {
      for (const counts of this.rpcCounts) {
        for (const [code, answered] of counts.answered) {
          const reported = counts.reported.get(code) ?? 0;
          if (answered === reported) continue;
          this.requests.inc({ ...counts.labels, code }, answered - reported);
          counts.reported.set(code, answered);
        }
      }
    },
  });
  private readonly durations = new Histogram<RpcLabel>({
    name: "cart_rpc_duration_seconds",
    help: "Time from the start of an RPC's handling to its answer.",
    labelNames: ["service", "method", "protocol"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly inFlight = new Gauge<RpcLabel>({
    name: "cart_rpc_in_flight",
    help: "RPCs being handled now.",
    labelNames: ["service", "method", "protocol"],
    registers: [this.registry],
    collect: () => {
      for (const counts of this.rpcCounts) this.inFlight.set(counts.labels, counts.inFlight);
    },
  });
  private readonly replays = new Counter<"service" | "method">({
    name: "cart_idempotency_replays_total",
    help: "Mutations answered with the stored response of an earlier call with the same idempotency key.",
    labelNames: ["service", "method"],
    registers: [this.registry],
  });
  private readonly sweeps = new Counter<"sweeper" | "outcome">({
    name: "cart_sweeper_runs_total",
    help: "Passes of the background sweepers, by sweeper and outcome (ok or error).",
    labelNames: ["sweeper", "outcome"],
    registers: [this.registry],
  });
  private readonly sweepDurations = new Histogram<"sweeper">({
    name: "cart_sweeper_duration_seconds",
    help: "Duration of background sweeper passes.",
    labelNames: ["sweeper"],
    buckets: [0.01, 0.1, 1, 10, 60],
    registers: [this.registry],
  });
  private readonly sweptRows = new Counter<"sweeper">({
    name: "cart_sweeper_removed_total",
    help: "Rows the background sweepers removed.",
    labelNames: ["sweeper"],
    registers: [this.registry],
  });
  private readonly openConnections = new Gauge({
    name: "cart_connections_open",
    help: "Client connections open now.",
    registers: [this.registry],
  });
  private readonly refusedConnections = new Counter({
    name: "cart_connections_refused_total",
    help: "Connections closed as they were accepted, MAX_CONNECTIONS being open.",
    registers: [this.registry],
  });
  private readonly timedOutConnections = new Counter<"timeout">({
    name: "cart_connections_timed_out_total",
    help: "Connections closed by a timeout: protocol_detection, http1_request (headers or body too slow) or http2_idle.",
    labelNames: ["timeout"],
    registers: [this.registry],
  });
  private readonly published = new Counter({
    name: "cart_events_published_total",
    help: "Cart events the relay published and JetStream acknowledged (duplicates JetStream dropped included).",
    registers: [this.registry],
  });
  private readonly publishFailures = new Counter({
    name: "cart_events_publish_failures_total",
    help: "Attempts to publish a cart event that failed (broker unreachable, no acknowledgement in time); the event is retried.",
    registers: [this.registry],
  });
  /** Per method and protocol, so that a call does not hash its labels again for every instrument. */
  private readonly rpcs = new Map<string, RpcInstruments>();
  /**
   * Calls in flight and answered, per method and protocol, as plain numbers:
   * prom-client's gauge and counter validate and hash the labels on every
   * change, so they get these figures at each scrape instead (collect).
   */
  private readonly rpcCounts: RpcCounts[] = [];
  private readonly pendingClusterRequests = new Map<number, (message: ClusterMetricsMessage) => void>();
  private nextClusterRequest = 0;

  constructor(options: MetricsOptions) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: "cart_db_pool_max_connections",
      help: "Connections the database pool may open.",
      registers: [this.registry],
    }).set(options.dbPoolSize);
    new Gauge({
      name: "cart_db_transactions_in_flight",
      help: "Database transactions under way, waiting ones included; each holds one pooled connection.",
      registers: [this.registry],
      collect() {
        this.set(options.dbTransactionsInFlight());
      },
    });
    new Gauge({
      name: "cart_db_available",
      help: "1 while the database is reachable, 0 while calls that need it are refused at once as UNAVAILABLE.",
      registers: [this.registry],
      // Across workers: 0 as soon as one of them refuses calls.
      aggregator: "min",
      collect() {
        this.set(options.databaseAvailable() ? 1 : 0);
      },
    });
    // The outbox is shared by every process: each reports the same figures, so workers' answers are not added up.
    let backlog: Promise<OutboxBacklog> | undefined;
    const readBacklog = () => (backlog ??= options.eventBacklog().finally(() => setImmediate(() => (backlog = undefined))));
    new Gauge({
      name: "cart_events_backlog",
      help: "Cart events in the outbox not yet published to the broker.",
      registers: [this.registry],
      aggregator: "max",
      async collect() {
        // While the database is unreachable the last figures stay.
        await readBacklog().then(({ unsent }) => this.set(unsent), () => {});
      },
    });
    new Gauge({
      name: "cart_events_oldest_unsent_age_seconds",
      help: "Age of the oldest cart event not yet published; 0 when there is none.",
      registers: [this.registry],
      aggregator: "max",
      async collect() {
        await readBacklog().then(({ oldestTime }) => this.set(oldestTime ? Math.max(0, (Date.now() - oldestTime.getTime()) / 1000) : 0), () => {});
      },
    });
    if (cluster.isWorker) {
      // prom-client answers the primary's requests for this worker's metrics from this registry.
      AggregatorRegistry.setRegistries(this.registry);
      process.on("message", (message: ClusterMetricsMessage) => {
        if (message?.type === clusterMetricsResponse) this.pendingClusterRequests.get(message.id!)?.(message);
      });
    }
  }

  rpc(service: string, method: string, protocol: string): RpcInstruments {
    const key = `${service}/${method} ${protocol}`;
    let instruments = this.rpcs.get(key);
    if (!instruments) {
      const labels = { service, method, protocol };
      const counts: RpcCounts = { labels, inFlight: 0, answered: new Map(), reported: new Map() };
      this.rpcCounts.push(counts);
      const duration = this.durations.labels(labels);
      const replays = this.replays.labels({ service, method });
      instruments = {
        started: () => void counts.inFlight++,
        finished: (code, seconds) => {
          counts.inFlight--;
          duration.observe(seconds);
          counts.answered.set(code, (counts.answered.get(code) ?? 0) + 1);
        },
        replayed: () => replays.inc(),
      };
      this.rpcs.set(key, instruments);
    }
    return instruments;
  }

  /** A client connection was accepted (`+1`) or has closed (`-1`). */
  connectionsChanged(by: 1 | -1): void {
    if (by > 0) this.openConnections.inc();
    else this.openConnections.dec();
  }

  /** A connection was closed at accept, the cap being reached. */
  connectionRefused(): void {
    this.refusedConnections.inc();
  }

  /** A connection was closed by one of the connection timeouts. */
  connectionTimedOut(timeout: "protocol_detection" | "http1_request" | "http2_idle"): void {
    this.timedOutConnections.inc({ timeout });
  }

  /** Records one pass of the background sweeper `sweeper`. */
  recordSweep(sweeper: string, outcome: SweepOutcome): void {
    this.sweepDurations.observe({ sweeper }, outcome.seconds);
    this.sweeps.inc({ sweeper, outcome: "failed" in outcome ? "error" : "ok" });
    if ("removed" in outcome) this.sweptRows.inc({ sweeper }, outcome.removed);
  }

  eventsPublished(count: number): void {
    this.published.inc(count);
  }

  eventPublishFailed(): void {
    this.publishFailures.inc();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition: this process's metrics, or in a cluster worker every worker's, added up. */
  exposition(): Promise<string> {
    return cluster.isWorker ? this.clusterExposition() : this.registry.metrics();
  }

  private clusterExposition(): Promise<string> {
    const id = this.nextClusterRequest++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => answer({ error: "the primary process did not answer in time" }), clusterMetricsTimeoutMs);
      const answer = (message: ClusterMetricsMessage) => {
        clearTimeout(timer);
        this.pendingClusterRequests.delete(id);
        if (message.text !== undefined) resolve(message.text);
        else reject(new ConnectError(`the workers' metrics could not be gathered: ${message.error}`, Code.Unavailable));
      };
      this.pendingClusterRequests.set(id, answer);
      process.send!({ type: clusterMetricsRequest, id });
    });
  }
}

/**
 * In the primary of a cluster (WORKERS > 1): answers each worker's request for
 * the metrics of all workers, which prom-client gathers from them and adds up.
 * A scrape then sees the whole service, whichever worker it reached.
 */
export function answerClusterMetricsRequests(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on("message", (worker, message: ClusterMetricsMessage) => {
    if (message?.type !== clusterMetricsRequest) return;
    const reply = (answer: Omit<ClusterMetricsMessage, "type" | "id">) => {
      // A worker that exited meanwhile needs no answer; the callback keeps a closed channel from raising.
      if (worker.isConnected()) worker.send({ type: clusterMetricsResponse, id: message.id, ...answer }, () => {});
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (error: unknown) => reply({ error: String(error) }),
    );
  });
}
