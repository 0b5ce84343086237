import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, inject, it } from "vitest";
import { fromSources, repoRoot, runUntilExit, startServer, type TestServer } from "../support/server.js";

/**
 * The service as an operator starts and stops it: real processes, real
 * signals, the embedded PostgreSQL. Start-up failures are one log line
 * naming the setting and the cause, with exit code 1.
 */

const dataDir = await mkdtemp(path.join(os.tmpdir(), "cart-lifecycle-"));
// As root the embedded server runs as a separate postgres user, which must reach the directory.
await chmod(dataDir, 0o755);
const embedded = { DATABASE_URL: undefined, DATA_DIR: dataDir };
const servers: TestServer[] = [];

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  const leftover = postmasterPid();
  if (leftover !== undefined && alive(leftover)) process.kill(leftover, "SIGINT");
  await rm(dataDir, { recursive: true, force: true });
});

/** The embedded server's pid from its lock file, while it runs. */
function postmasterPid(): number | undefined {
  const lockFile = path.join(dataDir, "postgres", "postmaster.pid");
  return existsSync(lockFile) ? Number(readFileSync(lockFile, "utf8").split("\n", 1)[0]) : undefined;
}

/** Whether a process exists (and is not a zombie waiting for its parent). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

async function started(env: Record<string, string | undefined>, launch = fromSources): Promise<TestServer> {
  const server = await startServer(env, launch);
  servers.push(server);
  return server;
}

/** The service logs, then nothing else: no error line, nothing on stderr, `stopped` last. */
function expectCleanStop(server: TestServer, signal: string): void {
  expect(server.logs.filter((entry) => entry.level === "error" || entry.level === "warn")).toEqual([]);
  expect(server.stderr.join("")).toBe("");
  expect(server.logs.find((entry) => entry.message === "shutting down")).toMatchObject({ signal });
  expect(server.logs.at(-1)).toMatchObject({ message: "stopped", exitCode: 0 });
}

describe("a start that cannot succeed", () => {
  const missingDatabase = new URL(inject("databaseUrl"));
  missingDatabase.pathname = "/cart_lifecycle_missing";

  it.each([
    ["refused", "postgres://postgres@127.0.0.1:1/cart", /^cannot start: DATABASE_URL postgres:\/\/postgres@127\.0\.0\.1:1\/cart: .*ECONNREFUSED/],
    ["unknown host", "postgres://postgres@unknown-host.invalid:5432/cart", /^cannot start: DATABASE_URL .*unknown-host\.invalid.*: .*(ENOTFOUND|EAI_AGAIN)/],
    ["missing database", missingDatabase.toString(), /^cannot start: DATABASE_URL .*: database "cart_lifecycle_missing" does not exist$/],
    ["not a URL", "db.example.com:5432/cart", /^invalid configuration: DATABASE_URL must be a URL such as postgres:/],
  ])("with a DATABASE_URL %s prints one line naming it and the cause, exit code 1", async (_case, url, message) => {
    const run = await runUntilExit({ DATABASE_URL: url });
    expect(run.code).toBe(1);
    expect(run.lines).toHaveLength(1);
    expect(run.logs[0]).toMatchObject({ level: "error", message: expect.stringMatching(message) });
  });

  it("with its port in use or its JWKS unreadable prints one line naming the setting and the cause", async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const run = await runUntilExit({ PORT: String(port) });
      expect(run.code).toBe(1);
      expect(run.lines).toEqual([expect.any(String)]);
      expect(run.logs[0]!.message).toBe(`cannot start: PORT ${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}`);
    } finally {
      taken.close();
    }
    const unreadable = await runUntilExit({ AUTH_JWKS: "/nonexistent/jwks.json" });
    expect(unreadable.code).toBe(1);
    expect(unreadable.lines).toEqual([expect.stringMatching(/"message":"cannot start: AUTH_JWKS: ENOENT: no such file or directory, open '\/nonexistent\/jwks.json'"/)]);
  });

  it("names every invalid variable in one line", async () => {
    const run = await runUntilExit({ PORT: "http", LOG_LEVEL: "loud", DB_POOL_SIZE: "0" });
    expect(run.code).toBe(1);
    expect(run.lines).toHaveLength(1);
    const { message } = run.logs[0]!;
    expect(message).toMatch(/^invalid configuration: /);
    for (const name of ["PORT", "LOG_LEVEL", "DB_POOL_SIZE"]) expect(message).toContain(`${name} must be`);
  });
});

describe("with the embedded PostgreSQL", { timeout: 120_000 }, () => {
  it("refuses a second start on the same DATA_DIR, naming the process that uses it", async () => {
    const first = await started(embedded);
    const run = await runUntilExit(embedded);
    expect(run.code).toBe(1);
    expect(run.lines).toEqual([expect.any(String)]);
    expect(run.logs[0]!.message).toBe(
      `cannot start: DATA_DIR: data directory ${path.join(dataDir, "postgres")} is in use by process ${first.pid} (its PostgreSQL server is process ${postmasterPid()}); stop that service or choose another DATA_DIR`,
    );
    // The first one is untouched.
    expect((await fetch(`${first.baseUrl}/readyz`)).status).toBe(200);
    await first.stop();
    expect(await first.exited).toBe(0);
  });

  it("stops the server that a killed service left running, and starts", async () => {
    const killed = await started(embedded);
    const orphan = postmasterPid()!;
    process.kill(killed.pid, "SIGKILL");
    await killed.exited;
    expect(alive(orphan)).toBe(true);

    const next = await started(embedded);
    expect(next.logs).toContainEqual(
      expect.objectContaining({ level: "warn", message: `stopping the embedded PostgreSQL (process ${orphan}) that an earlier start left running in ${path.join(dataDir, "postgres")}` }),
    );
    expect(alive(orphan)).toBe(false);
    expect((await fetch(`${next.baseUrl}/readyz`)).status).toBe(200);
    await next.stop();
    expect(await next.exited).toBe(0);
  });

  it("stops on SIGHUP (a closed terminal) as on SIGTERM: drains, stops the embedded PostgreSQL, exits 0", async () => {
    const server = await started(embedded);
    const postmaster = postmasterPid()!;
    process.kill(server.pid, "SIGHUP");
    expect(await server.exited).toBe(0);
    expectCleanStop(server, "SIGHUP");
    expect(alive(postmaster)).toBe(false);
  });

  it("on Ctrl-C (SIGINT to the terminal's process group) stops cleanly: no errors, `stopped` last", async () => {
    const server = await started(embedded, { ...fromSources, detached: true });
    const postmaster = postmasterPid()!;
    process.kill(-server.pid, "SIGINT");
    expect(await server.exited).toBe(0);
    expectCleanStop(server, "SIGINT");
    expect(alive(postmaster)).toBe(false);
  });

  it("`npm start`: SIGTERM to npm drains and stops the service and its PostgreSQL, and nothing is left running", async () => {
    const npm = await started(embedded, { command: "npm", args: ["start"], cwd: repoRoot });
    const servicePid = Number(npm.logs.find((entry) => entry.message === "cart service listening")!.pid);
    const postmaster = postmasterPid()!;
    // npm runs the service itself (no shell, no tsx in between).
    expect(readFileSync(`/proc/${servicePid}/stat`, "utf8")).toMatch(new RegExp(`^${servicePid} \\(node\\) \\S ${npm.pid} `));
    process.kill(npm.pid, "SIGTERM");
    expect(await npm.exited).toBe(0);
    expect(npm.logs.find((entry) => entry.message === "shutting down")).toMatchObject({ signal: "SIGTERM", pid: servicePid });
    expect(npm.logs.at(-1)).toMatchObject({ message: "stopped", pid: servicePid });
    for (let waited = 0; alive(servicePid) && waited < 5_000; waited += 100) await sleep(100);
    expect(alive(servicePid)).toBe(false);
    expect(alive(postmaster)).toBe(false);
  });
});
