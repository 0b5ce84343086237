import cluster, { type Worker } from "node:cluster";
import type { Logger } from "./logger.js";

export interface WorkerOptions {
  readonly count: number;
  /** Environment added to each worker's, e.g. the database URL the primary resolved. */
  readonly env: Readonly<Record<string, string>>;
  readonly log: Logger;
  /** Called once, when every worker listens on the shared port. */
  readonly onListening: (port: number) => void;
}

/**
 * Runs `count` copies of this program as node:cluster workers. Their
 * listeners share one port: the primary accepts connections and hands them
 * to the workers in turn, so one host uses several cores. The primary only
 * supervises: it forwards SIGINT/SIGTERM (and SIGHUP as SIGTERM), and when a worker dies on its own
 * it stops the others, because a crash is a bug to surface rather than to
 * restart around. Resolves with the process exit code once all have exited.
 */
export function runWorkers(options: WorkerOptions): Promise<number> {
  const { count, env, log } = options;
  return new Promise((resolve) => {
    const workers = new Set<Worker>();
    let listening = 0;
    let exitCode: number | undefined;

    const stopAll = (code: number, signal: NodeJS.Signals) => {
      if (exitCode !== undefined) return;
      exitCode = code;
      for (const worker of workers) worker.process.kill(signal);
    };
    process.on("SIGINT", () => stopAll(0, "SIGINT"));
    process.on("SIGTERM", () => stopAll(0, "SIGTERM"));
    process.on("SIGHUP", () => stopAll(0, "SIGTERM"));

    cluster.on("listening", (_worker, address) => {
      if (++listening === count) options.onListening(address.port);
    });
    cluster.on("exit", (worker, code, signal) => {
      workers.delete(worker);
      if (exitCode === undefined) {
        log.error("worker exited unexpectedly; stopping the service", { pid: worker.process.pid, code, signal });
        stopAll(1, "SIGTERM");
      }
      if (workers.size === 0) resolve(exitCode!);
    });
    for (let i = 0; i < count; i++) workers.add(cluster.fork(env));
  });
}
