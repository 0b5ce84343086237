/**
 * `npm run bench:outbox`: what the transactional outbox costs AddLineItem.
 * The same service (native gRPC, 1 worker) without and with the NATS relay
 * running (EVENTS_NATS_URL, default the machine's nats://127.0.0.1:4222, on
 * a stream of its own), AddLineItem over gRPC at 50 streams, interleaved
 * rounds; the outbox rows and bytes each change writes; and how far the
 * relay fell behind under that load and how fast it caught up. The relay
 * run starts with an empty backlog (it waits for the relay to catch up).
 * Prints markdown.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { connect } from "nats";
import postgres from "postgres";
import { cartRanges, prepareDatabase } from "./dataset.js";
import { runLoad } from "./load.js";
import { buildRequest } from "./requests.js";
import { benchIdentity, startService } from "./server.js";
import { findTools, median } from "./tools.js";

const workDir = path.join(fileURLToPath(new URL(".", import.meta.url)), "work");
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const natsUrl = process.env.EVENTS_NATS_URL ?? "nats://127.0.0.1:4222";
const stream = `CART_EVENTS_BENCH_${process.pid}`;
const streams = 50;

const tools = findTools();
await mkdir(workDir, { recursive: true });
const identity = await benchIdentity(workDir);
const database = await prepareDatabase();
const sql = postgres(database.url, { max: 1, onnotice: () => {} });
const plans: { name: string; env: Record<string, string> }[] = [
  { name: "no relay", env: {} },
  { name: "NATS relay", env: { EVENTS_NATS_URL: natsUrl, EVENTS_NATS_STREAM: stream, EVENTS_NATS_SUBJECT_PREFIX: `bench.${process.pid}.cart.events` } },
];
const rps = new Map<string, number[]>(plans.map((plan) => [plan.name, []]));
let nextCart = cartRanges.service.first;
const outbox = async () => {
  const [row] = await sql<{ rows: string; bytes: string }[]>`
    select count(*)::text as rows, (pg_total_relation_size('cart_events'))::text as bytes from cart_events`;
  return { rows: Number(row!.rows), bytes: Number(row!.bytes) };
};
const unsent = async () => Number((await sql<{ count: string }[]>`select count(*)::text as count from cart_events where sent_at is null`)[0]!.count);
/** Seconds until the backlog is empty (bounded); undefined if it never was. */
async function drainSeconds(limitSeconds = 120): Promise<number | undefined> {
  const started = performance.now();
  while ((await unsent()) > 0) {
    if (performance.now() - started > limitSeconds * 1000) return undefined;
    await sleep(100);
  }
  return (performance.now() - started) / 1000;
}
const catchUp: { behind: number; seconds: number | undefined }[] = [];
const changes = async () => Number((await sql<{ sum: string }[]>`select sum(version)::text as sum from carts`)[0]!.sum);
let perChange: { rows: number; bytes: number } | undefined;
try {
  for (let round = 1; round <= rounds; round++) {
    for (const plan of plans) {
      const service = await startService({ name: plan.name, env: { GRPC_SERVER: "native", WORKERS: "1", ...identity.env, ...plan.env } }, database.url, tools.clockTicks);
      try {
        const requests = Array.from({ length: streams }, () => buildRequest("AddLineItem", "grpc", nextCart++, "health", identity.authorization)!);
        await runLoad({ h2load: tools.h2load, port: service.port, requests, seconds: 1, workDir });
        await sleep(300);
        const relaying = "EVENTS_NATS_URL" in plan.env;
        if (relaying && (await drainSeconds()) === undefined) throw new Error("the relay did not catch up before the run");
        const [before, changedBefore] = [await outbox(), await changes()];
        const result = await runLoad({ h2load: tools.h2load, port: service.port, requests, seconds, workDir });
        await sleep(300);
        const [after, changedAfter] = [await outbox(), await changes()];
        if (result.problems.length > 0) throw new Error(result.problems.join("\n"));
        rps.get(plan.name)!.push(result.rps);
        if (relaying) {
          const behind = await unsent();
          catchUp.push({ behind, seconds: await drainSeconds() });
        }
        perChange ??= { rows: (after.rows - before.rows) / (changedAfter - changedBefore), bytes: (after.bytes - before.bytes) / (changedAfter - changedBefore) };
        console.error(`round ${round}, ${plan.name}: ${result.rps.toFixed(0)} req/s`);
      } finally {
        await service.stop();
      }
    }
  }
  console.log(`| AddLineItem, gRPC, ${streams} streams | req/s (median of ${rounds} × ${seconds} s) |\n|---|---|`);
  for (const [name, values] of rps) console.log(`| ${name} | ${median(values).toFixed(0)} |`);
  console.log(`\nOutbox per change: ${perChange!.rows.toFixed(2)} rows, ~${(perChange!.bytes / 1024).toFixed(1)} KiB of table and indexes.`);
  for (const { behind, seconds: drained } of catchUp) {
    const rate = drained === undefined ? "did not catch up within 120 s" : `caught up in ${drained.toFixed(1)} s (${(behind / Math.max(drained, 0.1)).toFixed(0)} events/s)`;
    console.log(`Relay: ${behind} events behind at the end of the load, ${rate}.`);
  }
} finally {
  await sql.end();
  await database.close();
  const nats = await connect({ servers: natsUrl }).catch(() => undefined);
  await (await nats?.jetstreamManager())?.streams.delete(stream).catch(() => {});
  await nats?.close();
}
