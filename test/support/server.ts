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
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * Starts the real service (`src/main.ts`) as a child process on a free port,
 * against this run's test database, and waits until it listens.
 */
export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: inject("databaseUrl"),
      ...authEnv,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
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
    pid: child.pid!,
    exited,
    stop: () => stopProcess(child),
  };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}
