import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";

export interface SweeperOptions {
  /** Names the sweeper in logs and in the `sweeper` label of the metrics, e.g. "idempotency". */
  readonly name: string;
  readonly intervalMs: number;
  /** One pass; resolves with how many rows it removed. */
  readonly sweep: () => Promise<number>;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/**
 * Runs a background sweeper now and then `intervalMs` after each pass ends
 * (passes never overlap), recording every pass in the metrics and logging
 * failures, which never stop it. Returns a function that stops it and
 * resolves once the pass under way, if any, is over, so that the database
 * can be closed after it.
 */
export function startSweeper(options: SweeperOptions): () => Promise<void> {
  const { name, log, metrics } = options;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const pass = async (): Promise<void> => {
    const startedAt = performance.now();
    const seconds = () => (performance.now() - startedAt) / 1000;
    try {
      const removed = await options.sweep();
      metrics.recordSweep(name, { seconds: seconds(), removed });
      if (removed > 0) log.debug("sweeper pass", { sweeper: name, removed });
    } catch (error) {
      metrics.recordSweep(name, { seconds: seconds(), failed: true });
      log.error("sweeper pass failed", { sweeper: name, error: String(error) });
    }
    if (stopped) return;
    timer = setTimeout(() => (latestPass = pass()), options.intervalMs);
    // A pending pass must not keep the process alive.
    timer.unref();
  };
  // Never rejects: a pass catches its own failures.
  let latestPass = pass();
  return () => {
    stopped = true;
    clearTimeout(timer);
    return latestPass;
  };
}
