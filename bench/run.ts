/**
 * `npm run bench`: measures the service against the machine's ceilings in one
 * run. See the README's "Benchmark" section for what it does and how to read it.
 */
import { mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { runPgbench, writeMinimalAddItemScript, writePgbenchScripts } from "./ceilings.js";
import { cartCount, cartRanges, dataset, prepareDatabase, versionSum } from "./dataset.js";
import { runLoad } from "./load.js";
import { bareEchoServer, checkTargets, markdownTable, type Sample, summarize, tableLegend, targetList, writeReport } from "./report.js";
import {
  buildRequest,
  type EchoKind,
  type HttpRequest,
  minimalAddItem,
  operations,
  type Protocol,
  protocols,
  send,
  type Workload,
} from "./requests.js";
import { benchIdentity, buildServers, type RunningService, startBareEcho, startService, UsageMeter } from "./server.js";
import { findTools, MissingToolError, type Tools } from "./tools.js";

const benchDir = fileURLToPath(new URL(".", import.meta.url));
const workDir = path.join(benchDir, "work");

function positiveInteger(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

const rounds = positiveInteger("BENCH_ROUNDS", 3);
const seconds = positiveInteger("BENCH_SECONDS", 4);
const streams = 50;
/** One stream at a time needs less time for a stable p99. */
const latencySeconds = Math.max(2, Math.ceil(seconds / 2));
const warmUpSeconds = 2;

interface Plan {
  readonly name: string;
  start(): Promise<RunningService>;
  /** Protocols measured at 50 streams. */
  readonly protocols: readonly Protocol[];
  /** What is measured on each protocol: the echo and all four operations, or the echo only. */
  readonly workloads: readonly Workload[];
  /** Also measure one stream at a time over gRPC. */
  readonly latencyRun: boolean;
}

/** The service, built as in production, with these settings. */
function servicePlan(name: string, env: Record<string, string>, served: readonly Protocol[], latencyRun: boolean): Plan {
  const start = () => startService({ name, env: { ...env, ...identity.env, DATA_DIR: workDir } }, database.url, tools.clockTicks);
  return { name, start, protocols: served, workloads: ["Echo", ...operations], latencyRun };
}

const mainServer = "native, 1 worker";
const plans: Plan[] = [
  servicePlan(mainServer, { GRPC_SERVER: "native", WORKERS: "1" }, protocols, true),
  { name: bareEchoServer, start: () => startBareEcho(bareEchoServer, tools.clockTicks), protocols: ["grpc"], workloads: ["Echo"], latencyRun: false },
  servicePlan("connect, 1 worker", { GRPC_SERVER: "connect", WORKERS: "1" }, ["grpc"], false),
  servicePlan("native, 2 workers", { GRPC_SERVER: "native", WORKERS: "2" }, ["grpc"], false),
];

let tools: Tools;
try {
  tools = findTools();
} catch (error) {
  if (!(error instanceof MissingToolError)) throw error;
  console.error(error.message);
  process.exit(1);
}

await mkdir(workDir, { recursive: true });
const identity = await benchIdentity(workDir);
const started = performance.now();
console.log("Building the service (npm run build) and the bare echo server…");
await buildServers();
console.log(`Preparing a database with ${dataset.carts} carts and ${dataset.products} products…`);
const database = await prepareDatabase();
const probe = postgres(database.url, { max: 1, onnotice: () => {} });
const samples: Sample[] = [];
const notes = new Set<string>();

/** Consecutive seeded carts, so concurrent writers never share a cart and each run gets carts of its own. */
let nextCart: number = cartRanges.service.first;
function takeCarts(count: number): number[] {
  return Array.from({ length: count }, () => {
    const n = nextCart;
    nextCart = n === cartRanges.service.last ? cartRanges.service.first : n + 1;
    return n;
  });
}

function record(sample: Sample): void {
  samples.push(sample);
  const latency = sample.p99Us === undefined ? "" : `, p50 ${(sample.p50Us! / 1000).toFixed(2)} ms, p99 ${(sample.p99Us / 1000).toFixed(2)} ms`;
  const cores = (label: string, value: number | undefined) => (value === undefined ? "" : ` ${label} ${value.toFixed(2)}`);
  const cpu = `, CPU${cores("service", sample.cpuCores)}${cores("PostgreSQL", sample.dbCpuCores)}${cores("machine", sample.machineCpuCores)}`;
  const rss = sample.rssPeakBytes === undefined ? "" : `, RSS ${(sample.rssPeakBytes / 2 ** 20).toFixed(0)} MB`;
  const problems = sample.problems.length ? `\n    ⚠ ${sample.problems.slice(0, 5).join("\n    ⚠ ")}` : "";
  console.log(
    `[round ${sample.round}] ${sample.server} · ${sample.protocol} · ${sample.workload} · ${sample.streams} streams: ` +
      `${sample.rps.toFixed(0)}/s${latency}${cpu}${rss}${problems}`,
  );
}

function answerProblem(answer: Awaited<ReturnType<typeof send>>, request: HttpRequest): string | undefined {
  const { httpStatuses, grpcStatus } = request.expected;
  if (httpStatuses.includes(answer.httpStatus) && answer.grpcStatus === grpcStatus) return undefined;
  return `${request.method} ${request.path} answered HTTP ${answer.httpStatus} grpc-status "${answer.grpcStatus}", expected ${httpStatuses.join(" or ")} "${grpcStatus}"`;
}

/** What a write operation changes in the database: each successful call adds exactly one. */
function changeCounter(workload: Workload, carts: readonly number[]): (() => Promise<number>) | undefined {
  if (workload === "CreateCart") return () => cartCount(probe);
  if (workload === "AddLineItem" || workload === "UpdateLineItem") return () => versionSum(probe, carts);
  return undefined;
}

async function measure(
  round: number,
  plan: Plan,
  service: RunningService,
  protocol: Protocol,
  workload: Workload,
  concurrency: number,
  echo: EchoKind,
): Promise<void> {
  const carts = takeCarts(concurrency);
  const requests = carts.map((n) => buildRequest(workload, protocol, n, echo, identity.authorization)!);
  const base = { round, server: plan.name, protocol, workload, streams: concurrency };
  // Every distinct request once through Node's own client: the exact bytes h2load will repeat.
  const answers = await Promise.all(requests.map((request) => send(service.port, request)));
  const refused = answers.map((answer, i) => answerProblem(answer, requests[i]!)).filter((problem) => problem !== undefined);
  if (refused.length > 0) return record({ ...base, rps: 0, problems: refused });
  const changes = changeCounter(workload, carts);
  const before = await changes?.();
  const meter = new UsageMeter({ service, databasePid: database.serverPid }, tools.clockTicks);
  const result = await runLoad({
    h2load: tools.h2load,
    port: service.port,
    requests,
    workDir,
    seconds: concurrency > 1 ? seconds : latencySeconds,
    minBodyBytes: changes ? undefined : answers.map((answer) => answer.bodyBytes),
  });
  const usage = meter.stop();
  const problems = [...result.problems];
  if (changes) {
    // In-flight requests cut off at the end may or may not have committed.
    const delta = (await changes()) - before!;
    if (delta < result.done || delta > result.started) {
      problems.push(`${delta} changes in the database for ${result.done} successful answers (${result.started} sent)`);
    }
  }
  record({ ...base, rps: result.rps, p50Us: result.p50Us, p99Us: result.p99Us, ...usage, problems });
}

/** The echo each protocol can use: Health/Check when the server offers it there, else a request validation refuses. */
async function echoKinds(service: RunningService, served: readonly Protocol[]): Promise<Map<Protocol, EchoKind>> {
  const kinds = new Map<Protocol, EchoKind>();
  for (const protocol of served.filter((p) => p !== "rest" && p !== "store")) {
    const request = buildRequest("Echo", protocol, 1, "health", identity.authorization)!;
    const kind = answerProblem(await send(service.port, request), request) ? "invalid-id" : "health";
    kinds.set(protocol, kind);
    notes.add(
      `${protocol} echo: ${kind === "health" ? "grpc.health.v1.Health/Check" : "GetCart with a malformed id, refused by validation before any database access (Health/Check not served)"}`,
    );
  }
  return kinds;
}

async function measureServer(round: number, plan: Plan): Promise<void> {
  const service = await plan.start();
  try {
    let served = plan.protocols;
    if (served.includes("rest")) {
      const request = buildRequest("GetCart", "rest", 1, "health", identity.authorization)!;
      if ((await send(service.port, request)).httpStatus === 404) {
        served = served.filter((protocol) => protocol !== "rest");
        notes.add("REST skipped: GET /v1/carts/{id} answered 404 (no REST transcoder on this server)");
      }
    }
    const echo = await echoKinds(service, served);
    const { workloads } = plan;
    // What each protocol has: REST and the Store API no echo, the Store API only GetCart and AddLineItem.
    const targets = served.flatMap((protocol) =>
      workloads
        .filter((workload) => buildRequest(workload, protocol, 1, "health", identity.authorization) !== undefined)
        .map((workload) => ({ protocol, workload })),
    );
    // Every code path at once, one stream each, so the measurements start with compiled code and open pools.
    await runLoad({
      h2load: tools.h2load,
      port: service.port,
      requests: targets.map(({ protocol, workload }) => buildRequest(workload, protocol, takeCarts(1)[0]!, echo.get(protocol) ?? "health", identity.authorization)!),
      seconds: warmUpSeconds,
      workDir,
    });
    await sleep(300); // requests cut off at the end of the warm-up finish before anything is counted
    for (const { protocol, workload } of targets) {
      await measure(round, plan, service, protocol, workload, streams, echo.get(protocol) ?? "health");
    }
    if (plan.latencyRun) {
      for (const workload of workloads) await measure(round, plan, service, "grpc", workload, 1, echo.get("grpc")!);
    }
    const errors = service.loggedErrors();
    if (errors > 0) notes.add(`${plan.name}: the service logged ${errors} errors in round ${round}`);
  } finally {
    await service.stop();
  }
}

try {
  // The SQL of each operation, and the minimal add-item transaction to compare AddLineItem's with.
  const scripts = {
    ...(await writePgbenchScripts(database.url, workDir, identity)),
    [minimalAddItem]: await writeMinimalAddItemScript(database.url, workDir),
  };
  for (let round = 1; round <= rounds; round++) {
    for (const workload of [...operations, minimalAddItem] as const) {
      const meter = new UsageMeter({ databasePid: database.serverPid }, tools.clockTicks);
      const rps = await runPgbench(tools.pgbench, database.url, scripts[workload], seconds);
      record({ round, server: "PostgreSQL", protocol: "pgbench", workload, streams: 10, rps, ...meter.stop(), problems: [] });
    }
    for (const plan of plans) await measureServer(round, plan);
  }
} finally {
  await probe.end();
  await database.close();
}

const rows = summarize(samples);
const targets = checkTargets(rows, mainServer);
const settings = {
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, Node ${process.version}`,
  database: database.description,
  rounds,
  "seconds per run": seconds,
  service: "production build (scripts/build.js), node bench/work/dist/main.js",
  load: `h2load, ${streams} processes × 1 connection × 1 stream, each on its own cart (pgbench: -M prepared -c 10 -j 2)`,
  "targets read from": mainServer,
  notes: [...notes],
};
await writeReport(path.join(benchDir, "results"), { rows, targets, samples, settings });
console.log(`\n${markdownTable(rows)}\n\n${tableLegend}\n\nTargets (${mainServer}):\n${targetList(targets)}\n`);
for (const note of notes) console.log(`note: ${note}`);
console.log(`\nWrote bench/results/latest.{json,md,svg} in ${((performance.now() - started) / 60_000).toFixed(1)} min.`);
const invalid = samples.filter((sample) => sample.problems.length > 0).length;
if (invalid > 0) {
  console.error(`${invalid} measurements had failed requests (marked ⚠); see bench/results/latest.json`);
  process.exitCode = 1;
}
