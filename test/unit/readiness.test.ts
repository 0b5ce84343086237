import { describe, expect, it, vi } from "vitest";
import { Readiness } from "../../src/transport/health/readiness.js";

/** A database probe the test answers by hand, counting how often it was asked. */
function manualProbe() {
  const pending: { resolve(): void; reject(error: Error): void }[] = [];
  return {
    pending,
    probeDatabase: () => new Promise<void>((resolve, reject) => pending.push({ resolve, reject })),
  };
}

/** Lets the promise callbacks of a settled probe run. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe("Readiness", () => {
  it("is ready while the database answers and shutdown has not begun", async () => {
    const readiness = new Readiness({ probeDatabase: () => Promise.resolve() });
    expect(await readiness.state()).toEqual({ ready: true, draining: false, databaseReachable: true });
    readiness.startDraining();
    expect(await readiness.state()).toEqual({ ready: false, draining: true, databaseReachable: true });
  });

  it("asks the database once for any number of concurrent checks, and reuses the answer for a while", async () => {
    const probe = manualProbe();
    const readiness = new Readiness({ probeDatabase: probe.probeDatabase, probeCacheMs: 60_000 });
    const states = Promise.all(Array.from({ length: 20 }, () => readiness.state()));
    expect(probe.pending).toHaveLength(1);
    probe.pending[0]!.resolve();
    expect((await states).every((state) => state.ready)).toBe(true);
    await readiness.state();
    expect(probe.pending).toHaveLength(1);
  });

  it("counts a failed probe as unreachable, and probes again once the answer is stale", async () => {
    let reachable = false;
    const readiness = new Readiness({
      probeDatabase: () => (reachable ? Promise.resolve() : Promise.reject(new Error("ECONNREFUSED"))),
      probeCacheMs: 0,
    });
    expect(await readiness.state()).toEqual({ ready: false, draining: false, databaseReachable: false });
    reachable = true;
    expect(await readiness.state()).toEqual({ ready: true, draining: false, databaseReachable: true });
  });

  it("answers unreachable when the probe takes too long, without starting another while it runs within its deadline", async () => {
    const probe = manualProbe();
    const readiness = new Readiness({ probeDatabase: probe.probeDatabase, probeTimeoutMs: 10, probeCacheMs: 0 });
    expect((await readiness.state()).databaseReachable).toBe(false);
    expect((await readiness.state()).databaseReachable).toBe(false);
    expect(probe.pending).toHaveLength(1);
    // The slow probe's late answer still counts…
    const late = readiness.state();
    probe.pending[0]!.resolve();
    expect((await late).databaseReachable).toBe(true);
    // …and only now does another probe start.
    const next = readiness.state();
    expect(probe.pending).toHaveLength(2);
    probe.pending[1]!.reject(new Error("gone"));
    expect((await next).databaseReachable).toBe(false);
  });

  it("knows the database is unavailable once a probe failed, and probes again by itself until it answers", async () => {
    let reachable = false;
    let probes = 0;
    const readiness = new Readiness({
      probeDatabase: () => (probes++, reachable ? Promise.resolve() : Promise.reject(new Error("ECONNREFUSED"))),
      probeCacheMs: 60_000,
      recheckMs: 5,
    });
    expect(readiness.databaseUnavailable).toBe(false);
    expect((await readiness.state()).databaseReachable).toBe(false);
    expect(readiness.databaseUnavailable).toBe(true);
    // No health check asks, yet the database is probed again while it is down…
    await vi.waitFor(() => expect(probes).toBeGreaterThanOrEqual(3));
    expect(readiness.databaseUnavailable).toBe(true);
    reachable = true;
    // …until it answers: then the cached answer is the new one, and probing stops.
    await vi.waitFor(() => expect(readiness.databaseUnavailable).toBe(false));
    expect((await readiness.state()).databaseReachable).toBe(true);
    const probesOnceBack = probes;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(probes).toBe(probesOnceBack);
  });

  it("probes right away when a call lost its connection, and turns calls away only if that probe fails", async () => {
    const probe = manualProbe();
    const readiness = new Readiness({ probeDatabase: probe.probeDatabase, probeCacheMs: 60_000, recheckMs: 5 });
    const first = readiness.state();
    probe.pending[0]!.resolve();
    expect((await first).databaseReachable).toBe(true);

    // One connection lost (a terminated backend): the database is asked again, however fresh the last answer…
    readiness.databaseFailed();
    expect(probe.pending).toHaveLength(2);
    // …while the other calls go on: it is not known to be down.
    expect(readiness.databaseUnavailable).toBe(false);
    // Further failures while that probe runs do not start more.
    readiness.databaseFailed();
    expect(probe.pending).toHaveLength(2);
    probe.pending[1]!.resolve();
    await settled();
    expect(readiness.databaseUnavailable).toBe(false);

    // When the probe fails too, the outage is known, until a probe answers again.
    readiness.databaseFailed();
    probe.pending[2]!.reject(new Error("ECONNREFUSED"));
    await vi.waitFor(() => expect(readiness.databaseUnavailable).toBe(true));
    await vi.waitFor(() => expect(probe.pending).toHaveLength(4));
    probe.pending[3]!.resolve();
    await vi.waitFor(() => expect(readiness.databaseUnavailable).toBe(false));
  });

  it("abandons a probe that never settles once its deadline passes, and recovers when later probes answer", async () => {
    const signals: AbortSignal[] = [];
    let back = false;
    const readiness = new Readiness({
      // The first probe's connection was dropped silently: it never answers. Later ones fail fast, until the database is back.
      probeDatabase: (abandoned) => {
        signals.push(abandoned);
        if (signals.length === 1) return new Promise<void>(() => {});
        return back ? Promise.resolve() : Promise.reject(new Error("ECONNREFUSED"));
      },
      probeDeadlineMs: 10,
      probeCacheMs: 60_000,
      recheckMs: 5,
    });
    readiness.databaseFailed();
    await vi.waitFor(() => expect(readiness.databaseUnavailable).toBe(true));
    // The hung probe is told it was abandoned, so that its connection can be dropped, and new probes follow.
    expect(signals[0]!.aborted).toBe(true);
    await vi.waitFor(() => expect(signals.length).toBeGreaterThanOrEqual(3));
    expect(readiness.databaseUnavailable).toBe(true);
    back = true;
    // Calls are let through again.
    await vi.waitFor(() => expect(readiness.databaseUnavailable).toBe(false));
    expect((await readiness.state()).databaseReachable).toBe(true);
  });

  it("answers not ready while a probe is slow, without refusing calls, and counts it as an outage only when it fails", async () => {
    const probe = manualProbe();
    const readiness = new Readiness({ probeDatabase: probe.probeDatabase, probeTimeoutMs: 10, probeCacheMs: 60_000 });
    expect((await readiness.state()).databaseReachable).toBe(false);
    expect(readiness.databaseUnavailable).toBe(false);
    probe.pending[0]!.reject(new Error("connect timeout"));
    await vi.waitFor(() => expect(readiness.databaseUnavailable).toBe(true));
  });

  it("wakes watchers when draining begins, when a new probe is due, and when they leave", async () => {
    const readiness = new Readiness({ probeDatabase: () => Promise.resolve(), probeCacheMs: 60_000 });
    const never = new AbortController().signal;
    const draining = readiness.nextChange(never);
    readiness.startDraining();
    await draining;

    const left = new AbortController();
    const leaving = readiness.nextChange(left.signal);
    left.abort();
    await leaving;

    await new Readiness({ probeDatabase: () => Promise.resolve(), probeCacheMs: 1 }).nextChange(never);
  });
});
