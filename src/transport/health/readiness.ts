import { EventEmitter } from "node:events";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { Health } from "../../../gen/grpc/health/v1/health_pb.js";

export interface ReadinessOptions {
  /**
   * Resolves once the database answered a trivial query; rejects when it
   * cannot. `abandoned` aborts when the probe ran out of time and is no
   * longer awaited: its connection may be dead without knowing it.
   */
  readonly probeDatabase: (abandoned: AbortSignal) => Promise<void>;
  /** How long a probe may take before readiness answers "unreachable" (calls are still let through). */
  readonly probeTimeoutMs?: number;
  /** How long a probe may run at all: then it counts as failed and is abandoned, so that the next one starts afresh. */
  readonly probeDeadlineMs?: number;
  /** How long a probe's answer stands, so that frequent health checks do not each reach the database. */
  readonly probeCacheMs?: number;
  /** How soon the database is probed again while it is unreachable, so that calls are let through soon after it is back. */
  readonly recheckMs?: number;
}

export interface ReadinessState {
  /** Whether the server takes new calls: not draining, and the database reachable. */
  readonly ready: boolean;
  /** Set once shutdown began; never cleared. */
  readonly draining: boolean;
  readonly databaseReachable: boolean;
}

/**
 * Whether this process should receive traffic, for the gRPC health service
 * and the HTTP probes. It knows two things: whether shutdown began (calls
 * then go elsewhere), and whether the database answers. The database is
 * probed on demand, one probe at a time, and each answer stands for a
 * moment, so probes from many load balancers cost the database one
 * `select 1` a second at most. A call that lost its connection starts a
 * probe at once. Once a probe failed, the database is known to be
 * unreachable and is probed again every `recheckMs` until it answers, so
 * that calls refused meanwhile (see `createDatabaseOutageInterceptor`) are
 * let through again soon after it is back, with or without health checks.
 * A probe that runs past `probeDeadlineMs` counts as failed, so that one
 * that never settles (a silently dropped connection) cannot hold the state.
 */
export class Readiness {
  private readonly probeTimeoutMs: number;
  private readonly probeDeadlineMs: number;
  private readonly probeCacheMs: number;
  private readonly recheckMs: number;
  private isDraining = false;
  private probing: Promise<boolean> | undefined;
  private lastProbe: { readonly reachable: boolean; readonly at: number } | undefined;
  private recheck: NodeJS.Timeout | undefined;
  /** Emits "draining" once, when shutdown begins. */
  private readonly events = new EventEmitter().setMaxListeners(0);

  constructor(private readonly options: ReadinessOptions) {
    this.probeTimeoutMs = options.probeTimeoutMs ?? 1_000;
    this.probeDeadlineMs = options.probeDeadlineMs ?? 5_000;
    this.probeCacheMs = options.probeCacheMs ?? 1_000;
    this.recheckMs = options.recheckMs ?? 500;
  }

  get draining(): boolean {
    return this.isDraining;
  }

  /** Whether the database is known to be unreachable now; no probe is made to tell. */
  get databaseUnavailable(): boolean {
    return this.lastProbe?.reachable === false;
  }

  /**
   * Records that a call could not reach the database: it is probed right
   * away, and counts as unreachable only if that probe fails, so that one
   * lost connection (a terminated backend) turns no other call away.
   */
  databaseFailed(): void {
    void (this.probing ??= this.probe());
  }

  /** Marks the process as shutting down: from now on it is not ready, whatever the database says. */
  startDraining(): void {
    if (this.isDraining) return;
    this.isDraining = true;
    this.events.emit("draining");
  }

  async state(): Promise<ReadinessState> {
    const databaseReachable = await this.databaseReachable();
    return { ready: databaseReachable && !this.isDraining, draining: this.isDraining, databaseReachable };
  }

  /**
   * Resolves when the state may have changed: at once when draining begins,
   * else once the last probe's answer is due for renewal, so that a watcher
   * asking again triggers the next probe. Also resolves when `signal` aborts.
   */
  nextChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.events.off("draining", done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, this.probeCacheMs);
      this.events.once("draining", done);
      signal.addEventListener("abort", done, { once: true });
      if (signal.aborted) done();
    });
  }

  private databaseReachable(): Promise<boolean> {
    const last = this.lastProbe;
    if (last && performance.now() - last.at < this.probeCacheMs) return Promise.resolve(last.reachable);
    // A probe still running (the database is slow to answer or to refuse) is awaited, never doubled.
    const probing = (this.probing ??= this.probe());
    return new Promise((resolve) => {
      // A probe that does not answer in time makes this answer "not ready", but
      // calls are refused only once it fails or outlives its deadline: a
      // database slow under load must not turn into an outage of the whole service.
      const timer = setTimeout(() => resolve(false), this.probeTimeoutMs);
      void probing.then((reachable) => {
        clearTimeout(timer);
        resolve(reachable);
      });
    });
  }

  private async probe(): Promise<boolean> {
    const abandoned = new AbortController();
    let deadline: NodeJS.Timeout | undefined;
    const reachable = await Promise.race([
      this.options.probeDatabase(abandoned.signal).then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        deadline = setTimeout(() => {
          abandoned.abort();
          resolve(false);
        }, this.probeDeadlineMs).unref();
      }),
    ]);
    clearTimeout(deadline);
    this.probing = undefined;
    this.record(reachable);
    return reachable;
  }

  private record(reachable: boolean): void {
    this.lastProbe = { reachable, at: performance.now() };
    if (reachable) {
      clearTimeout(this.recheck);
      this.recheck = undefined;
    } else {
      // Unreferenced: a pending recheck does not keep a stopping process alive.
      this.recheck ??= setTimeout(() => {
        this.recheck = undefined;
        void (this.probing ??= this.probe());
      }, this.recheckMs).unref();
    }
  }
}

const shuttingDown = () => new ConnectError("the server is shutting down; retry the call", Code.Unavailable);

/**
 * Refuses calls that arrive once the server drains with UNAVAILABLE, which
 * clients retry (on another instance), while the calls already running
 * finish. Health checks still answer, with NOT_SERVING.
 */
export function createDrainingInterceptor(readiness: Readiness): Interceptor {
  return (next) => (request) =>
    readiness.draining && request.service.typeName !== Health.typeName ? Promise.reject(shuttingDown()) : next(request);
}
