import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { startServer, type TestServer } from "../support/server.js";

function workerPids(server: TestServer): number[] {
  return server.logs.filter((entry) => entry.message === "worker listening").map((entry) => Number(entry.pid));
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/** How many established TCP connections to `port` the process holds, from /proc. */
function connectionsHeld(pid: number, port: number): number {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`).map((fd) => /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1]),
  );
  const portHex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return ["tcp", "tcp6"]
    .flatMap((table) => readFileSync(`/proc/net/${table}`, "utf8").trim().split("\n").slice(1))
    .map((line) => line.trim().split(/\s+/))
    .filter(([, local, , state, , , , , , inode]) => local!.endsWith(portHex) && state === "01" && inodes.has(inode))
    .length;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts WORKERS=2 and returns the server with the pids of its two workers, once both have said they listen. */
async function startTwoWorkers(): Promise<{ server: TestServer; workers: number[] }> {
  const server = await startServer({ WORKERS: "2" });
  // The primary announces the port when both listen; each worker's own line may arrive just after.
  await vi.waitFor(() => expect(workerPids(server)).toHaveLength(2));
  const workers = workerPids(server);
  for (const pid of workers) expect(parentOf(pid)).toBe(server.pid);
  return { server, workers };
}

describe("WORKERS=2 (node:cluster)", { timeout: 60_000 }, () => {
  it("serves every protocol on one port from two worker processes, and stops them with the primary", async () => {
    const { server, workers } = await startTwoWorkers();
    try {
      // Every transport opens connections of its own; the primary hands them to the workers in turn.
      for (const [name, transport] of Object.entries(connectTransports(server.baseUrl))) {
        const carts = clientFor(CartService, transport);
        const { cart: created } = await carts.createCart({ customerId: `workers-${name}` });
        const { cart: read } = await carts.getCart({ id: created!.id });
        expect(read, name).toEqual(created);
      }
      // The clients keep their connections open: each worker holds some of them.
      for (const pid of workers) expect(connectionsHeld(pid, server.port), `worker ${pid}`).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
    expect(await server.exited).toBe(0);
    expect(workers.filter(isRunning)).toEqual([]);
  });

  it("stops the whole service with a failure code when a worker dies", async () => {
    const { server, workers } = await startTwoWorkers();
    try {
      process.kill(workers[0]!, "SIGKILL");
      expect(await server.exited).toBe(1);
      expect(workers.filter(isRunning)).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});
