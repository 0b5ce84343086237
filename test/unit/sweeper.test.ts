import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Logger } from "../../src/logger.js";
import { Metrics } from "../../src/metrics.js";
import { startSweeper } from "../../src/sweeper.js";

function recordingLogger() {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, fields });
  const log: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { log, lines };
}

async function sweeperRuns(metrics: Metrics): Promise<Record<string, number>> {
  const metric = await metrics.registry.getSingleMetric("cart_sweeper_runs_total")!.get();
  return Object.fromEntries(metric.values.map(({ labels, value }) => [`${labels.sweeper} ${labels.outcome}`, value]));
}

const noBacklog = async () => ({ unsent: 0, oldestTime: undefined });

describe("startSweeper", () => {
  beforeEach(() => void vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] }));
  afterEach(() => void vi.useRealTimers());

  it("sweeps at once and then every interval, recording each pass, until stopped", async () => {
    const { log } = recordingLogger();
    const metrics = new Metrics({ dbPoolSize: 1, dbTransactionsInFlight: () => 0, databaseAvailable: () => true, eventBacklog: noBacklog });
    const sweep = vi.fn(async () => 3);
    const stop = startSweeper({ name: "test", intervalMs: 60_000, sweep, log, metrics });
    await vi.advanceTimersByTimeAsync(0);
    expect(sweep).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(sweep).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sweep).toHaveBeenCalledTimes(2);
    await stop();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(sweep).toHaveBeenCalledTimes(2);
    expect(await sweeperRuns(metrics)).toEqual({ "test ok": 2 });
    expect(await metrics.registry.getSingleMetricAsString("cart_sweeper_removed_total")).toContain('cart_sweeper_removed_total{sweeper="test"} 6');
  });

  it("logs and counts a failed pass, and keeps sweeping", async () => {
    const { log, lines } = recordingLogger();
    const metrics = new Metrics({ dbPoolSize: 1, dbTransactionsInFlight: () => 0, databaseAvailable: () => true, eventBacklog: noBacklog });
    const sweep = vi.fn().mockRejectedValueOnce(new Error("database unreachable")).mockResolvedValue(0);
    const stop = startSweeper({ name: "test", intervalMs: 1_000, sweep, log, metrics });
    await vi.advanceTimersByTimeAsync(1_000);
    await stop();
    expect(sweep).toHaveBeenCalledTimes(2);
    expect(await sweeperRuns(metrics)).toEqual({ "test error": 1, "test ok": 1 });
    expect(lines).toContainEqual({
      level: "error",
      message: "sweeper pass failed",
      fields: { sweeper: "test", error: "Error: database unreachable" },
    });
  });

  it("never starts a pass while the previous one runs", async () => {
    const { log } = recordingLogger();
    const metrics = new Metrics({ dbPoolSize: 1, dbTransactionsInFlight: () => 0, databaseAvailable: () => true, eventBacklog: noBacklog });
    let finish!: (removed: number) => void;
    const sweep = vi.fn(() => new Promise<number>((resolve) => (finish = resolve)));
    const stop = startSweeper({ name: "test", intervalMs: 1_000, sweep, log, metrics });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sweep).toHaveBeenCalledTimes(1);
    finish(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sweep).toHaveBeenCalledTimes(2);
    void stop();
  });

  it("once stopped, resolves when the pass under way ends, so the database can be closed after it", async () => {
    const { log, lines } = recordingLogger();
    const metrics = new Metrics({ dbPoolSize: 1, dbTransactionsInFlight: () => 0, databaseAvailable: () => true, eventBacklog: noBacklog });
    let finish!: (removed: number) => void;
    const sweep = vi.fn(() => new Promise<number>((resolve) => (finish = resolve)));
    const stop = startSweeper({ name: "test", intervalMs: 1_000, sweep, log, metrics });
    let stopped = false;
    const stopping = stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(stopped).toBe(false);
    finish(2);
    await stopping;
    expect(await sweeperRuns(metrics)).toEqual({ "test ok": 1 });
    expect(lines.filter(({ level }) => level === "error")).toEqual([]);
    // Between passes there is nothing to wait for, and no pass starts afterwards.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sweep).toHaveBeenCalledTimes(1);
  });

  it("once stopped between passes, resolves at once and starts no other pass", async () => {
    const { log } = recordingLogger();
    const metrics = new Metrics({ dbPoolSize: 1, dbTransactionsInFlight: () => 0, databaseAvailable: () => true, eventBacklog: noBacklog });
    const sweep = vi.fn(async () => 0);
    const stop = startSweeper({ name: "test", intervalMs: 1_000, sweep, log, metrics });
    await vi.advanceTimersByTimeAsync(1_500);
    expect(sweep).toHaveBeenCalledTimes(2);
    await stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sweep).toHaveBeenCalledTimes(2);
  });
});
