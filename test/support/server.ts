import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import { authEnv } from "./auth.js";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface TestServer {
  /** http://127.0.0.1:PORT */
  readonly baseUrl: string;
  readonly port: number;
  /** Everything the process logged so far, one parsed JSON object per line. */
  readonly logs: Record<string, unknown>[];
  /** The service's process (with WORKERS > 1, the primary that supervises the workers). */
  readonly pid: number;
  /** What the process wrote to stderr so far. */
  readonly stderr: string[];
  /** Resolves with the exit code once the process has exited and its output is read. */
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** How the service is started: by default `src/main.ts` through tsx, from the repository. */
export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** In a process group of its own (its pid is the group's id), as a terminal's foreground job is. */
  readonly detached?: boolean;
}

export const fromSources: Launch = { command: process.execPath, args: ["--import", "tsx", "src/main.ts"], cwd: repoRoot };

function spawnService(env: Record<string, string | undefined>, launch: Launch): ChildProcess {
  return spawn(launch.command, launch.args, {
    cwd: launch.cwd,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: inject("databaseUrl"),
      ...authEnv,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: launch.detached ?? false,
  });
}

/**
 * Starts the real service (`src/main.ts`, or as `launch` says) as a child
 * process on a free port, against this run's test database, and waits until
 * it listens. An env value `undefined` removes that variable.
 */
export async function startServer(env: Record<string, string | undefined> = {}, launch: Launch = fromSources): Promise<TestServer> {
  const child = spawnService(env, launch);
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.message === "cart service listening") resolve(Number(new URL(String(entry.address)).port));
      } catch {
        // not a log line
      }
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code} before listening:\n${stderr.join("")}`)));
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    logs,
    stderr,
    pid: child.pid!,
    exited,
    stop: () => stopProcess(child),
  };
}

export interface FinishedRun {
  readonly code: number | null;
  /** Every line the process wrote to stdout and stderr. */
  readonly lines: string[];
  /** The stdout lines that are JSON log entries, parsed. */
  readonly logs: Record<string, unknown>[];
}

/** Runs the service (it is expected to stop on its own, e.g. refusing to start) and collects its output; killed after `timeoutMs`. */
export async function runUntilExit(env: Record<string, string | undefined>, launch: Launch = fromSources, timeoutMs = 60_000): Promise<FinishedRun> {
  const child = spawnService(env, launch);
  const output: string[] = [];
  child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once("close", (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  const lines = output.join("").split("\n").filter((line) => line.trim() !== "");
  const logs = lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
  return { code, lines, logs };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}
