import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { connect, type JsMsg, type NatsConnection, type StoredMsg } from "nats";

/** The machine's NATS JetStream, which the event tests publish to (never stopped by them). */
export const machineNatsUrl = process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222";

/** Whether a NATS server answers at `url`; tests that need one skip, saying so, when it does not. */
export async function natsReachable(url: string = machineNatsUrl): Promise<boolean> {
  try {
    const connection = await connect({ servers: url, timeout: 2_000, reconnect: false });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

/** A message of a stream, as a consumer receives it. */
export type StreamMessage = Pick<StoredMsg, "subject" | "seq" | "data"> & { headers: Record<string, string> };

/** Every message of `stream`, in stream order (at most `limit`). */
export async function streamMessages(connection: NatsConnection, stream: string, limit = 10_000): Promise<StreamMessage[]> {
  const manager = await connection.jetstreamManager();
  const { state } = await manager.streams.info(stream);
  const messages: StreamMessage[] = [];
  // An empty stream reports first_seq 0, which names no message.
  if (state.messages === 0) return messages;
  for (let seq = state.first_seq; seq <= state.last_seq && messages.length < limit; seq++) {
    const message = await manager.streams.getMessage(stream, { seq });
    const headers: Record<string, string> = {};
    for (const key of message.header?.keys() ?? []) headers[key.toLowerCase()] = message.header!.get(key);
    messages.push({ subject: message.subject, seq: message.seq, data: message.data, headers });
  }
  return messages;
}

/** A JSON CloudEvent from a stream message in structured mode. */
export const cloudEvent = (message: Pick<JsMsg, "data">) => JSON.parse(new TextDecoder().decode(message.data)) as Record<string, unknown>;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A NATS JetStream server of the test's own (`nats-server -js`) on a free
 * port, with its store in a temporary directory, so that it can be stopped
 * and started again with its streams: the machine's NATS is never stopped.
 */
export interface OwnNats {
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it and removes its store. */
  dispose(): Promise<void>;
}

export const natsServerBinary = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";

export async function ownNats(): Promise<OwnNats> {
  const port = await freePort();
  const storeDir = await mkdtemp(path.join(os.tmpdir(), "cart-test-nats-"));
  const url = `nats://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child!.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
  return {
    url,
    start: async () => {
      child = spawn(natsServerBinary, ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir], { stdio: "ignore" });
      for (let attempt = 0; attempt < 100 && !(await natsReachable(url)); attempt++) await sleep(100);
      if (!(await natsReachable(url))) throw new Error(`nats-server did not start on ${url}`);
    },
    stop,
    dispose: async () => {
      await stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}
