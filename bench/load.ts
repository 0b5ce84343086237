import { spawn } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { percentile } from "./tools.js";
import type { HttpRequest } from "./requests.js";

export interface LoadResult {
  /** Requests answered as expected per second. */
  readonly rps: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** Requests h2load sent and those it saw answered; the difference was in flight when time ran out. */
  readonly started: number;
  readonly done: number;
  /** Everything that was not a clean success; empty when the run is valid. */
  readonly problems: string[];
}

interface ClientReport {
  readonly exitCode: number | null;
  readonly output: string;
  readonly latencies: { status: number; micros: number }[];
}

/**
 * Drives the service with one h2load process per request, each keeping one
 * stream busy for `seconds`: h2load repeats one body per process, so writes
 * spread over as many carts as there are concurrent streams and never queue
 * on each other's row lock. `minBodyBytes[i]`, when given, is the smallest
 * body a correct answer to request i has (gRPC errors come with 200 and none).
 */
export async function runLoad(options: {
  h2load: string;
  port: number;
  requests: readonly HttpRequest[];
  seconds: number;
  workDir: string;
  minBodyBytes?: readonly number[];
}): Promise<LoadResult> {
  const { requests, seconds } = options;
  const reports = await Promise.all(requests.map((request, i) => runClient(options, request, i)));
  const problems: string[] = [];
  let started = 0;
  let done = 0;
  const successes: number[] = [];
  reports.forEach((report, i) => {
    const request = requests[i]!;
    const counts = parseCounts(report.output);
    started += counts.started;
    done += counts.done;
    if (report.exitCode !== 0 || counts.errored + counts.timeout > 0) {
      problems.push(`client ${i}: h2load exit ${report.exitCode}: ${report.output.trim().split("\n").slice(-6).join(" | ")}`);
    }
    const expected = (entry: { status: number }) => request.expected.httpStatuses.includes(entry.status);
    const unexpected = report.latencies.filter((entry) => !expected(entry));
    if (unexpected.length > 0) {
      problems.push(`client ${i}: ${unexpected.length} answers with HTTP status ${unexpected[0]!.status}, expected ${request.expected.httpStatuses.join(" or ")}`);
    }
    const minBytes = options.minBodyBytes?.[i];
    if (minBytes !== undefined && counts.dataBytes < counts.done * minBytes) {
      problems.push(`client ${i}: ${counts.dataBytes} body bytes for ${counts.done} answers of at least ${minBytes} bytes (error answers?)`);
    }
    for (const entry of report.latencies) if (expected(entry)) successes.push(entry.micros);
  });
  successes.sort((a, b) => a - b);
  return {
    rps: successes.length / seconds,
    p50Us: percentile(successes, 0.5),
    p99Us: percentile(successes, 0.99),
    started,
    done,
    problems,
  };
}

async function runClient(
  options: { h2load: string; port: number; seconds: number; workDir: string },
  request: HttpRequest,
  index: number,
): Promise<ClientReport> {
  const bodyFile = path.join(options.workDir, `body-${index}`);
  const logFile = path.join(options.workDir, `latency-${index}.log`);
  await rm(logFile, { force: true }); // h2load appends to an existing log
  const args = ["-c", "1", "-m", "1", "-t", "1", "-D", String(options.seconds), `--log-file=${logFile}`];
  if (request.http1) args.push("--h1");
  for (const [name, value] of Object.entries(request.headers)) args.push("-H", `${name}: ${value}`);
  // h2load cannot send an empty data file: an empty body is sent as no body.
  const hasBody = request.body !== undefined && request.body.length > 0;
  if (hasBody) {
    await writeFile(bodyFile, request.body!);
    args.push("-d", bodyFile);
  }
  // h2load sends POST with a body and GET without; anything else is set as a pseudo-header.
  if (request.method !== (hasBody ? "POST" : "GET")) args.push("-H", `:method: ${request.method}`);
  args.push(`http://127.0.0.1:${options.port}${request.path}`);
  const { exitCode, output } = await new Promise<{ exitCode: number | null; output: string }>((resolve, reject) => {
    const child = spawn(options.h2load, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ exitCode: code, output }));
  });
  // Log columns: start time (µs since epoch), HTTP status (-1 for a failed stream), latency (µs).
  const log = await readFile(logFile, "utf8").catch(() => "");
  const latencies = log
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [, status, micros] = line.split("\t");
      return { status: Number(status), micros: Number(micros) };
    });
  return { exitCode, output, latencies };
}

function parseCounts(output: string) {
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(output);
  const traffic = /traffic: .*?, .*?\((\d+)\) data/.exec(output);
  return {
    started: Number(requests?.[2] ?? 0),
    done: Number(requests?.[3] ?? 0),
    errored: Number(requests?.[6] ?? 0),
    timeout: Number(requests?.[7] ?? 0),
    dataBytes: Number(traffic?.[1] ?? 0),
  };
}
