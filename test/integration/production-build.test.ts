import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken } from "../support/auth.js";
import { repoRoot, startServer, type TestServer } from "../support/server.js";

/**
 * The image the Dockerfile describes, without a container engine: its
 * runtime stage's layout in a clean folder (the same COPY lines, the same
 * production-only install, dist/ from `npm run build`), started the way the
 * image starts it, `node dist/main.js`.
 */

const run = promisify(execFile);
let folder: string;
let server: TestServer;

/** The runtime stage's steps: what it copies where (dist/ comes from the build stage), and how it installs dependencies. */
async function runtimeStage(): Promise<{ copies: { from: string; to: string }[]; installs: string[] }> {
  const dockerfile = await readFile(path.join(repoRoot, "Dockerfile"), "utf8");
  const lines = dockerfile.replace(/\\\n/g, " ").split("\n");
  const stageStarts = lines.flatMap((line, index) => (line.startsWith("FROM ") ? [index] : []));
  const stage = lines.slice(stageStarts.at(-1));
  const copies = stage
    .filter((line) => line.startsWith("COPY "))
    .flatMap((line) => {
      const [, ...words] = line.split(/\s+/).filter((word) => !word.startsWith("--"));
      const to = words.pop()!;
      return words.map((from) => ({ from: from.replace(/^\/app\//, ""), to: words.length > 1 ? path.join(to, path.basename(from)) : to }));
    });
  return { copies, installs: stage.filter((line) => line.startsWith("RUN npm ci")) };
}

beforeAll(async () => {
  const stage = await runtimeStage();
  expect(stage.installs).toEqual([expect.stringContaining("npm ci --omit=dev")]);
  folder = await mkdtemp(path.join(os.tmpdir(), "cart-production-"));
  // The build stage's `npm run build`, writing straight into the folder (the repository's dist/ may be in use).
  await run(process.execPath, ["scripts/build.js", path.join(folder, "dist")], { cwd: repoRoot });
  for (const { from, to } of stage.copies) {
    if (from !== "dist") await cp(path.join(repoRoot, from), path.join(folder, to), { recursive: true });
  }
  await run("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: folder, maxBuffer: 16 * 1024 * 1024 });
  server = await startServer(
    { NODE_ENV: "production", SEED_DEMO_PRODUCTS: "1", LOG_FORMAT: "json" },
    { command: process.execPath, args: ["dist/main.js"], cwd: folder },
  );
}, 600_000);

afterAll(async () => {
  await server?.stop();
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe("the production layout (the Dockerfile's runtime stage)", { timeout: 120_000 }, () => {
  it("has no development tools: no tsx, TypeScript or vitest", () => {
    for (const tool of ["tsx", "typescript", "vitest", "drizzle-kit"]) expect(existsSync(path.join(folder, "node_modules", tool)), tool).toBe(false);
  });

  it("serves from the compiled service: readiness, a REST call, the OpenAPI document and the storefront bundle", async () => {
    expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(200);
    const created = await fetch(`${server.baseUrl}/v1/carts`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ customer_id: "production-layout", items: [{ product_id: "mug-classic", quantity: 2 }] }),
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ customer_id: "production-layout", item_quantity: 2 });
    const openApi = await fetch(`${server.baseUrl}/openapi.json`);
    expect(openApi.status).toBe(200);
    expect(await openApi.json()).toMatchObject({ openapi: expect.stringMatching(/^3\.1/) });
    const script = await fetch(`${server.baseUrl}/demo/app.js`);
    expect(script.status).toBe(200);
    expect((await script.text()).length).toBeGreaterThan(1000);
  });

  it("drains on SIGTERM and exits 0", async () => {
    process.kill(server.pid, "SIGTERM");
    expect(await server.exited).toBe(0);
    expect(server.logs.find((entry) => entry.message === "shutting down")).toMatchObject({ signal: "SIGTERM" });
    expect(server.logs.at(-1)).toMatchObject({ message: "stopped", exitCode: 0 });
    expect(server.logs.filter((entry) => entry.level === "error")).toEqual([]);
  });
});
