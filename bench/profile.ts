/**
 * `npm run bench:profile -- [Operation] [protocol]`: where the service's CPU
 * time goes under load. Starts the service with `node --cpu-prof`, drives one
 * operation (default AddLineItem over gRPC) at 50 streams for BENCH_SECONDS,
 * stops it, and prints the functions and packages with the most self time.
 */
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { prepareDatabase } from "./dataset.js";
import { runLoad } from "./load.js";
import { buildRequest, type Protocol, type Workload } from "./requests.js";
import { benchIdentity, serviceBundle, startService } from "./server.js";
import { findTools } from "./tools.js";

const [workload = "AddLineItem", protocol = "grpc"] = process.argv.slice(2) as [Workload?, Protocol?];
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const workDir = fileURLToPath(new URL("work", import.meta.url));
const profileDir = path.join(workDir, "profile");

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/**
 * The service runs as its production bundle: the source file of each of its
 * lines, from the `// src/….ts` comment esbuild puts before each module.
 */
async function bundleSources(): Promise<string[]> {
  const sources: string[] = [];
  for (const line of (await readFile(serviceBundle, "utf8")).split("\n")) {
    sources.push(/^\/\/ ((?:src|gen)\/\S+)$/.exec(line)?.[1] ?? sources.at(-1) ?? path.relative(repoRoot, serviceBundle));
  }
  return sources;
}

/** A script's path relative to the repository (packages: from their node_modules folder; the bundle: the source file). */
function location(url: string, lineNumber: number): string {
  const file = url.startsWith("file://") ? fileURLToPath(url) : url;
  if (file === serviceBundle) return sourceOfBundleLine[lineNumber]!;
  return file.includes("node_modules/") ? file.replace(/^.*node_modules\//, "") : file.startsWith("/") ? path.relative(repoRoot, file) : file;
}

/** Where a function lives: an npm package, our own source folder, Node's internals, or V8 pseudo-frames like (garbage collector). */
function origin(url: string, lineNumber: number, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return "node:internal";
  const where = location(url, lineNumber);
  return url.includes("node_modules/") ? /^((?:@[^/]+\/)?[^/]+)/.exec(where)![1]! : where.split("/").slice(0, 2).join("/");
}

function top(totals: Map<string, number>, all: number, count: number): string {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, micros]) => `${((100 * micros) / all).toFixed(1).padStart(5)}%  ${name}`)
    .join("\n");
}

const tools = findTools();
await rm(profileDir, { recursive: true, force: true });
await mkdir(profileDir, { recursive: true });
const identity = await benchIdentity(workDir);
const database = await prepareDatabase();
try {
  const service = await startService(
    { name: "profiled", env: { WORKERS: "1", ...identity.env, DATA_DIR: workDir } },
    database.url,
    tools.clockTicks,
    ["--cpu-prof", `--cpu-prof-dir=${profileDir}`],
  );
  const requests = Array.from({ length: 50 }, (_, i) => buildRequest(workload, protocol, i + 1, "health", identity.authorization)!);
  const result = await runLoad({ h2load: tools.h2load, port: service.port, requests, seconds, workDir });
  await service.stop();
  console.log(`${workload} over ${protocol}: ${result.rps.toFixed(0)} req/s, p99 ${(result.p99Us / 1000).toFixed(1)} ms`);
  if (result.problems.length) console.log(`problems: ${result.problems.slice(0, 3).join("; ")}`);
} finally {
  await database.close();
}

const [file] = (await readdir(profileDir)).filter((name) => name.endsWith(".cpuprofile"));
const profile = JSON.parse(await readFile(path.join(profileDir, file!), "utf8")) as CpuProfile;
const sourceOfBundleLine = await bundleSources();
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const functions = new Map<string, number>();
const origins = new Map<string, number>();
let all = 0;
profile.samples.forEach((id, i) => {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const micros = profile.timeDeltas[i] ?? 0;
  if (functionName === "(idle)") return;
  all += micros;
  const name = `${functionName || "(anonymous)"} ${url ? `${location(url, lineNumber)}:${lineNumber + 1}` : ""}`;
  functions.set(name, (functions.get(name) ?? 0) + micros);
  const where = origin(url, lineNumber, functionName);
  origins.set(where, (origins.get(where) ?? 0) + micros);
});
console.log(`\nBusy time: ${(all / 1e6).toFixed(1)} s of ${seconds} s (profile in ${path.relative(process.cwd(), profileDir)})`);
console.log(`\nSelf time by origin:\n${top(origins, all, 15)}`);
console.log(`\nSelf time by function (the service's own code: source file, line of ${path.relative(repoRoot, serviceBundle)}):\n${top(functions, all, 25)}`);
