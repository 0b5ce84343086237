import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { median } from "./tools.js";
import { type Measured, minimalAddItem, type Protocol, type Workload } from "./requests.js";

/** The server name of the bare @grpc/grpc-js echo (bench/bare-echo.ts), the ceiling of the service's gRPC echo. */
export const bareEchoServer = "bare @grpc/grpc-js";

/** One measurement of one round. */
export interface Sample {
  readonly round: number;
  /** Server configuration name, or "PostgreSQL" for pgbench. */
  readonly server: string;
  readonly protocol: Protocol | "pgbench";
  readonly workload: Measured;
  readonly streams: number;
  readonly rps: number;
  readonly p50Us?: number;
  readonly p99Us?: number;
  /** Average cores busy: the service (all its processes), PostgreSQL, and the whole machine (load generator included). */
  readonly cpuCores?: number;
  readonly dbCpuCores?: number;
  readonly machineCpuCores?: number;
  readonly rssPeakBytes?: number;
  /** Why the run cannot be trusted; empty when every request succeeded. */
  readonly problems: readonly string[];
}

/** Medians over rounds of one (server, protocol, workload, streams). */
export interface Row {
  readonly server: string;
  readonly protocol: Protocol | "pgbench";
  readonly workload: Measured;
  readonly streams: number;
  readonly rounds: number;
  readonly rps: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly cpuCores?: number;
  readonly dbCpuCores?: number;
  readonly machineCpuCores?: number;
  readonly rssMb?: number;
  /** The service's CPU time per call: CPU cores ÷ req/s. */
  readonly cpuMsPerCall?: number;
  /**
   * req/s ÷ its echo's on the same round: for an operation, the echo RPC of the
   * same server and protocol; for the service's gRPC echo, the bare @grpc/grpc-js echo.
   */
  readonly perEcho?: number;
  /** CPU per call ÷ its echo's (the same echo as perEcho). */
  readonly cpuPerEchoCpu?: number;
  /** p99 ÷ its echo's p99. */
  readonly p99PerEcho?: number;
  /** req/s ÷ pgbench's transactions/s for the operation's SQL in the same round. */
  readonly perPgbench?: number;
  /** AddLineItem only: req/s (or pgbench transactions/s) ÷ the minimal add-item transaction's in the same round. */
  readonly perMinimalAddItem?: number;
  readonly valid: boolean;
}

export interface TargetCheck {
  readonly target: string;
  readonly value: number | undefined;
  readonly passed: boolean;
  /** Shown after the value. */
  readonly detail?: string;
}

/** REST and the Store API have no echo of their own; they share connect-node's HTTP/1.1 stack with Connect JSON. */
function echoProtocolOf(protocol: Protocol): Protocol {
  return protocol === "rest" || protocol === "store" ? "connect-json" : protocol;
}

const optionalMedian = (values: (number | undefined)[]) => {
  const present = values.filter((value): value is number => value !== undefined && Number.isFinite(value));
  return present.length ? median(present) : undefined;
};

export function summarize(samples: readonly Sample[]): Row[] {
  const groups = new Map<string, Sample[]>();
  for (const sample of samples) {
    const key = [sample.server, sample.protocol, sample.workload, sample.streams].join("|");
    groups.set(key, [...(groups.get(key) ?? []), sample]);
  }
  const find = (round: number, server: string, protocol: string, workload: Measured, streams: number) =>
    samples.find((s) => s.round === round && s.server === server && s.protocol === protocol && s.workload === workload && s.streams === streams);
  const cpuMsPerCall = (sample: Sample) => (sample.cpuCores === undefined ? undefined : (1000 * sample.cpuCores) / sample.rps);
  return [...groups.values()].map((group) => {
    const { server, protocol, workload, streams } = group[0]!;
    const paired = (other: (sample: Sample) => Sample | undefined, value: (sample: Sample, other: Sample) => number | undefined) =>
      optionalMedian(group.map((sample) => {
        const match = other(sample);
        return match ? value(sample, match) : undefined;
      }));
    const isRpc = protocol !== "pgbench" && workload !== "Echo";
    const echo = (sample: Sample) => {
      if (protocol === "pgbench" || server === bareEchoServer) return undefined;
      if (isRpc) return find(sample.round, server, echoProtocolOf(protocol), "Echo", streams);
      return protocol === "grpc" ? find(sample.round, bareEchoServer, "grpc", "Echo", streams) : undefined;
    };
    const pgbench = (sample: Sample) => (isRpc ? find(sample.round, "PostgreSQL", "pgbench", workload, 10) : undefined);
    const minimal = (sample: Sample) =>
      workload === "AddLineItem" ? find(sample.round, "PostgreSQL", "pgbench", minimalAddItem, 10) : undefined;
    return {
      server,
      protocol,
      workload,
      streams,
      rounds: group.length,
      rps: median(group.map((sample) => sample.rps)),
      p50Ms: optionalMedian(group.map((sample) => sample.p50Us && sample.p50Us / 1000)),
      p99Ms: optionalMedian(group.map((sample) => sample.p99Us && sample.p99Us / 1000)),
      cpuCores: optionalMedian(group.map((sample) => sample.cpuCores)),
      dbCpuCores: optionalMedian(group.map((sample) => sample.dbCpuCores)),
      machineCpuCores: optionalMedian(group.map((sample) => sample.machineCpuCores)),
      rssMb: optionalMedian(group.map((sample) => sample.rssPeakBytes && sample.rssPeakBytes / 2 ** 20)),
      cpuMsPerCall: optionalMedian(group.map(cpuMsPerCall)),
      perEcho: paired(echo, (sample, match) => sample.rps / match.rps),
      cpuPerEchoCpu: paired(echo, (sample, match) => cpuMsPerCall(sample)! / cpuMsPerCall(match)!),
      p99PerEcho: paired(echo, (sample, match) => sample.p99Us! / match.p99Us!),
      perPgbench: paired(pgbench, (sample, match) => sample.rps / match.rps),
      perMinimalAddItem: paired(minimal, (sample, match) => sample.rps / match.rps),
      valid: group.every((sample) => sample.problems.length === 0),
    };
  });
}

/** The targets of issue 14, read from the rows of the main configuration (native gRPC server, one worker) at 50 streams. */
export function checkTargets(rows: readonly Row[], mainServer: string): TargetCheck[] {
  const row = (server: string, protocol: Protocol | "pgbench", workload: Measured) =>
    rows.find((r) => r.server === server && r.protocol === protocol && r.workload === workload && r.streams === (protocol === "pgbench" ? 10 : 50));
  const grpc = (workload: Workload) => row(mainServer, "grpc", workload);
  const check = (target: string, value: number | undefined, passes: (value: number) => boolean, detail?: string): TargetCheck => ({
    target,
    value,
    passed: value !== undefined && passes(value),
    ...(detail && { detail }),
  });
  const atMost = (target: string, value: number | undefined, max: number) => check(target, value, (v) => v <= max);
  const cpuPerCall = (workload: Workload, max: number) =>
    atMost(`gRPC ${workload} CPU per call ≤ ${max}× the echo's`, grpc(workload)?.cpuPerEchoCpu, max);
  const echo = grpc("Echo");
  const rssMax = Math.max(...rows.filter((r) => r.server === mainServer && r.rssMb !== undefined).map((r) => r.rssMb!));
  return [
    cpuPerCall("AddLineItem", 2.5),
    cpuPerCall("UpdateLineItem", 2.5),
    cpuPerCall("CreateCart", 2),
    cpuPerCall("GetCart", 1.5),
    // The echo's column holds its CPU per call ÷ the bare echo's; the target is the inverse (exact for an odd number of rounds).
    check(
      `gRPC echo ≥ 0.8× ${bareEchoServer} echo, by CPU per call (bare's ÷ the echo's)`,
      echo?.cpuPerEchoCpu && 1 / echo.cpuPerEchoCpu,
      (v) => v >= 0.8,
      echo?.perEcho === undefined ? undefined : `req/s ${echo.perEcho.toFixed(2)}× the bare echo's`,
    ),
    check("pgbench AddLineItem SQL ≥ 0.8× the minimal add-item transaction", row("PostgreSQL", "pgbench", "AddLineItem")?.perMinimalAddItem, (v) => v >= 0.8),
    check("gRPC AddLineItem ≥ 0.4× the minimal add-item transaction", grpc("AddLineItem")?.perMinimalAddItem, (v) => v >= 0.4),
    atMost("gRPC AddLineItem p99 ≤ 3× the echo's p99", grpc("AddLineItem")?.p99PerEcho, 3),
    atMost("service peak RSS under load ≤ 150 MB", Number.isFinite(rssMax) ? rssMax : undefined, 150),
  ];
}

const fixed = (value: number | undefined, digits: number) => (value === undefined ? "" : value.toFixed(digits));

export function markdownTable(rows: readonly Row[]): string {
  const header =
    "| Server | Protocol | Operation | Streams | req/s | p50 ms | p99 ms | CPU service | CPU ms/call | CPU PostgreSQL | CPU machine | RSS MB " +
    "| ÷ echo | ÷ echo CPU | ÷ pgbench | ÷ minimal add-item |";
  const lines = rows.map((r) =>
    [
      r.server,
      r.protocol,
      r.workload,
      r.streams,
      `${r.rps.toFixed(0)}${r.valid ? "" : " ⚠"}`,
      fixed(r.p50Ms, 2),
      fixed(r.p99Ms, 2),
      fixed(r.cpuCores, 2),
      fixed(r.cpuMsPerCall, 3),
      fixed(r.dbCpuCores, 2),
      fixed(r.machineCpuCores, 2),
      fixed(r.rssMb, 0),
      fixed(r.perEcho, 2),
      fixed(r.cpuPerEchoCpu, 2),
      fixed(r.perPgbench, 2),
      fixed(r.perMinimalAddItem, 2),
    ].join(" | "),
  );
  return [header, `|${"---|".repeat(16)}`, ...lines.map((line) => `| ${line} |`)].join("\n");
}

/** What the ratio columns compare. */
export const tableLegend =
  "÷ echo, ÷ echo CPU: req/s and CPU per call relative to the echo RPC of the same server and protocol; " +
  `for the gRPC echo itself, relative to the ${bareEchoServer} echo. ÷ pgbench: relative to pgbench replaying the operation's SQL. ` +
  "÷ minimal add-item: relative to pgbench's minimal add-item transaction. All from the same round, medians over rounds.";

export function targetList(checks: readonly TargetCheck[]): string {
  return checks
    .map((c) => `- ${c.passed ? "✅" : "❌"} ${c.target}: ${c.value === undefined ? "not measured" : c.value.toFixed(2)}${c.detail ? ` (${c.detail})` : ""}`)
    .join("\n");
}

/** Throughput at 50 streams, one panel per server configuration, drawn by vega-lite. */
async function chart(rows: readonly Row[]): Promise<string> {
  const spec: vegaLite.TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    background: "white",
    title: "Requests per second at 50 concurrent streams (medians; pgbench: transactions/s of the same SQL)",
    data: { values: rows.filter((r) => r.streams !== 1).map((r) => ({ ...r, rps: Math.round(r.rps) })) },
    facet: { column: { field: "server", title: null } },
    spec: {
      width: 260,
      height: 240,
      mark: "bar",
      encoding: {
        x: { field: "workload", title: null, sort: ["Echo", "CreateCart", "GetCart", "AddLineItem", "UpdateLineItem", minimalAddItem] },
        xOffset: { field: "protocol" },
        y: { field: "rps", type: "quantitative", title: "req/s" },
        color: { field: "protocol", title: "protocol" },
      },
    },
    // Each panel its own y scale: pgbench's GetCart is ~50× the slowest write and would flatten the rest.
    resolve: { scale: { x: "independent", xOffset: "independent", y: "independent" } },
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: "none" });
  return view.toSVG();
}

export async function writeReport(
  directory: string,
  data: { rows: readonly Row[]; targets: readonly TargetCheck[]; samples: readonly Sample[]; settings: Record<string, unknown> },
): Promise<void> {
  await mkdir(directory, { recursive: true });
  const setting = ([name, value]: [string, unknown]) =>
    Array.isArray(value) ? `- ${name}:\n${value.map((item) => `  - ${String(item)}`).join("\n")}` : `- ${name}: ${String(value)}`;
  const markdown = [
    `Benchmark of ${new Date().toISOString().slice(0, 10)} (\`npm run bench\`, medians over rounds):`,
    "",
    ...Object.entries(data.settings).map(setting),
    "",
    markdownTable(data.rows),
    "",
    tableLegend,
    "",
    "Targets of issue 14 (ratios from the same round, medians):",
    "",
    targetList(data.targets),
    "",
  ].join("\n");
  await writeFile(path.join(directory, "latest.json"), `${JSON.stringify(data, null, 2)}\n`);
  await writeFile(path.join(directory, "latest.md"), markdown);
  await writeFile(path.join(directory, "latest.svg"), await chart(data.rows));
}
