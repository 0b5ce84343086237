import net from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { connectDatabase, type Database } from "../../src/storage/database.js";

/**
 * A TCP relay to the test PostgreSQL that can go silent on the connections
 * it relays, as a connection does whose peer vanished without a word (a
 * dropped NAT entry, a failed-over host): nothing is answered, nothing is
 * closed. New connections are relayed as usual.
 */
async function silenceableRelay(target: URL) {
  const relayed = new Set<[net.Socket, net.Socket]>();
  let connections = 0;
  let swallowedBytes = 0;
  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    relayed.add(pair);
    client.pipe(upstream).pipe(client);
    for (const socket of pair) {
      socket.on("error", () => {});
      socket.on("close", () => {
        relayed.delete(pair);
        for (const other of pair) other.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = Object.assign(new URL(target), { hostname: "127.0.0.1", port: String((server.address() as net.AddressInfo).port) });
  return {
    url: url.toString(),
    get connections() {
      return connections;
    },
    /** What the client sent since the relay went silent. */
    get swallowedBytes() {
      return swallowedBytes;
    },
    /** From now on, what is sent on the open connections goes nowhere, both ways. */
    silence() {
      for (const [client, upstream] of relayed) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.on("data", (chunk: Buffer) => (swallowedBytes += chunk.length)).resume();
        upstream.on("data", () => {}).resume();
      }
    },
    close: () => {
      for (const pair of relayed) for (const socket of pair) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("the readiness ping's connection", () => {
  let relay: Awaited<ReturnType<typeof silenceableRelay>>;
  let database: Database;
  const notAbandoned = new AbortController().signal;

  beforeAll(async () => {
    relay = await silenceableRelay(new URL(inject("databaseUrl")));
    database = connectDatabase({ url: relay.url, poolSize: 1, statementTimeoutMs: 5000, lockTimeoutMs: 3000 });
  });

  afterAll(async () => {
    await database?.close();
    await relay?.close();
  });

  it("is dropped when a ping hung on it is abandoned, and the next ping answers on a new one", async () => {
    await database.ping(notAbandoned);
    expect(relay.connections).toBe(1);

    relay.silence();
    const abandoned = new AbortController();
    const hung = database.ping(abandoned.signal);
    // The `select 1` is on its way, and will never be answered.
    await vi.waitFor(() => expect(relay.swallowedBytes).toBeGreaterThan(0));
    abandoned.abort();
    // Without dropping the connection, this ping would wait for an answer that never comes.
    await expect(hung).rejects.toMatchObject({ code: "CONNECTION_DESTROYED" });

    await database.ping(notAbandoned);
    expect(relay.connections).toBe(2);
  });
});
