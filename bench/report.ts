import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { median } from "./tools.js";
import type { Protocol, Workload } from "./requests.js";

/** One measurement of one round. */
export interface Sample {
  readonly round: number;
  /** Server configuration name, or "PostgreSQL" for pgbench. */
  readonly server: string;
  readonly protocol: Protocol | "pgbench";
  readonly workload: Workload;
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
  readonly workload: Workload;
  readonly streams: number;
  readonly rounds: number;
  readonly rps: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly cpuCores?: number;
  readonly dbCpuCores?: number;
  readonly machineCpuCores?: number;
  readonly rssMb?: number;
  /** req/s ÷ the echo RPC's on the same server, protocol and round. */
  readonly perEcho?: number;
  /** p99 ÷ the echo RPC's p99. */
  readonly p99PerEcho?: number;
  /** req/s ÷ pgbench's transactions/s for the operation's SQL in the same round. */
  readonly perPgbench?: number;
  readonly valid: boolean;
}

export interface TargetCheck {
  readonly target: string;
  readonly value: number | undefined;
  readonly passed: boolean;
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
  const find = (round: number, server: string, protocol: string, workload: Workload, streams: number) =>
    samples.find((s) => s.round === round && s.server === server && s.protocol === protocol && s.workload === workload && s.streams === streams);
  return [...groups.values()].map((group) => {
    const { server, protocol, workload, streams } = group[0]!;
    const paired = (other: (sample: Sample) => Sample | undefined, value: (sample: Sample, other: Sample) => number | undefined) =>
      optionalMedian(group.map((sample) => {
        const match = other(sample);
        return match ? value(sample, match) : undefined;
      }));
    const isRpc = protocol !== "pgbench" && workload !== "Echo";
    const echo = (sample: Sample) => (isRpc ? find(sample.round, server, echoProtocolOf(protocol as Protocol), "Echo", streams) : undefined);
    const pgbench = (sample: Sample) => (isRpc ? find(sample.round, "PostgreSQL", "pgbench", workload, 10) : undefined);
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
      perEcho: paired(echo, (sample, match) => sample.rps / match.rps),
      p99PerEcho: paired(echo, (sample, match) => sample.p99Us! / match.p99Us!),
      perPgbench: paired(pgbench, (sample, match) => sample.rps / match.rps),
      valid: group.every((sample) => sample.problems.length === 0),
    };
  });
}

/** The issue's targets, read from the rows of the main configuration (native gRPC server, one worker). */
export function checkTargets(rows: readonly Row[], mainServer: string): TargetCheck[] {
  const row = (protocol: Protocol, workload: Workload) =>
    rows.find((r) => r.server === mainServer && r.protocol === protocol && r.workload === workload && r.streams === 50);
  const atLeast = (target: string, value: number | undefined, min: number) => ({ target, value, passed: value !== undefined && value >= min });
  const rssMax = Math.max(...rows.filter((r) => r.server === mainServer && r.rssMb !== undefined).map((r) => r.rssMb!));
  return [
    atLeast("gRPC GetCart ≥ 0.5× gRPC echo", row("grpc", "GetCart")?.perEcho, 0.5),
    atLeast("gRPC CreateCart ≥ 0.5× gRPC echo", row("grpc", "CreateCart")?.perEcho, 0.5),
    atLeast("gRPC AddLineItem ≥ 0.3× gRPC echo", row("grpc", "AddLineItem")?.perEcho, 0.3),
    atLeast("gRPC AddLineItem ≥ 0.5× pgbench add-item", row("grpc", "AddLineItem")?.perPgbench, 0.5),
    atLeast("Connect JSON (HTTP/1.1) GetCart ≥ 0.7× its echo", row("connect-json", "GetCart")?.perEcho, 0.7),
    atLeast("REST GetCart ≥ 0.7× connect-node HTTP/1.1 echo", row("rest", "GetCart")?.perEcho, 0.7),
    (() => {
      const value = row("grpc", "AddLineItem")?.p99PerEcho;
      return { target: "gRPC AddLineItem p99 ≤ 2× echo p99", value, passed: value !== undefined && value <= 2 };
    })(),
    { target: "server RSS under load ≤ 250 MB", value: rssMax, passed: rssMax <= 250 },
  ];
}

const fixed = (value: number | undefined, digits: number) => (value === undefined ? "" : value.toFixed(digits));

export function markdownTable(rows: readonly Row[]): string {
  const header =
    "| Server | Protocol | Operation | Streams | req/s | p50 ms | p99 ms | CPU service | CPU PostgreSQL | CPU machine | RSS MB | ÷ echo | ÷ pgbench |";
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
      fixed(r.dbCpuCores, 2),
      fixed(r.machineCpuCores, 2),
      fixed(r.rssMb, 0),
      fixed(r.perEcho, 2),
      fixed(r.perPgbench, 2),
    ].join(" | "),
  );
  return [header, `|${"---|".repeat(13)}`, ...lines.map((line) => `| ${line} |`)].join("\n");
}

export function targetList(checks: readonly TargetCheck[]): string {
  return checks.map((c) => `- ${c.passed ? "✅" : "❌"} ${c.target}: ${c.value === undefined ? "not measured" : c.value.toFixed(2)}`).join("\n");
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
        x: { field: "workload", title: null, sort: ["Echo", "CreateCart", "GetCart", "AddLineItem", "UpdateLineItem"] },
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
    "Targets of issue 4 (ratios from the same round, medians):",
    "",
    targetList(data.targets),
    "",
  ].join("\n");
  await writeFile(path.join(directory, "latest.json"), `${JSON.stringify(data, null, 2)}\n`);
  await writeFile(path.join(directory, "latest.md"), markdown);
  await writeFile(path.join(directory, "latest.svg"), await chart(data.rows));
}
