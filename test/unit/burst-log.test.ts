import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createBurstLog, type LogFields, type Logger } from "../../src/logger.js";

describe("createBurstLog", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("logs the first event of a burst at once, then one line per window with how many more came", () => {
    const lines: [string, LogFields | undefined][] = [];
    const record = (message: string, fields?: LogFields) => void lines.push([message, fields]);
    const log: Logger = { debug: record, info: record, warn: record, error: record };
    const refused = createBurstLog(log, "warn", "connection refused", 10_000);
    for (let event = 0; event < 500; event++) refused({ maxConnections: 20 });
    expect(lines).toEqual([["connection refused", { count: 1, maxConnections: 20 }]]);
    vi.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual(["connection refused", { count: 499, windowMs: 10_000 }]);
    // A quiet window ends the burst: the next event is logged at once again.
    vi.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(2);
    refused({ maxConnections: 20 });
    expect(lines).toHaveLength(3);
    expect(lines[2]).toEqual(["connection refused", { count: 1, maxConnections: 20 }]);
  });
});
