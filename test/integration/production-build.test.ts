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

type Step = { copy: { from: string; to: string }[] } | { install: string };

/** The runtime stage's steps in order: what it copies where (dist/ comes from the build stage), and where it installs dependencies. */
async function runtimeStage(): Promise<Step[]> {
  const dockerfile = await readFile(path.join(repoRoot, "Dockerfile"), "utf8");
  const lines = dockerfile.replace(/\\\n/g, " ").split("\n");
  const stageStarts = lines.flatMap((line, index) => (line.startsWith("FROM ") ? [index] : []));
  return lines.slice(stageStarts.at(-1)).flatMap((line): Step[] => {
    if (line.startsWith("RUN npm ci")) return [{ install: line }];
    if (!line.startsWith("COPY ")) return [];
    const [, ...words] = line.split(/\s+/).filter((word) => !word.startsWith("--"));
    const to = words.pop()!;
    return [{ copy: words.map((from) => ({ from: from.replace(/^\/app\//, ""), to: words.length > 1 ? path.join(to, path.basename(from)) : to })) }];
  });
}

beforeAll(async () => {
  const steps = await runtimeStage();
  expect(steps.flatMap((step) => ("install" in step ? [step.install] : []))).toEqual([expect.stringContaining("npm ci --omit=dev")]);
  folder = await mkdtemp(path.join(os.tmpdir(), "cart-production-"));
  // The build stage's `npm run build`, writing straight into the folder (the repository's dist/ may be in use).
  await run(process.execPath, ["scripts/build.js", path.join(folder, "dist")], { cwd: repoRoot });
  // In the Dockerfile's order: the install sees only what was copied before it (patch-package needs patches/).
  for (const step of steps) {
    if ("install" in step) {
      await run("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: folder, maxBuffer: 16 * 1024 * 1024 });
      continue;
    }
    for (const { from, to } of step.copy) {
      if (from !== "dist") await cp(path.join(repoRoot, from), path.join(folder, to), { recursive: true });
    }
  }
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

  it("runs the patched dependencies (patches/): a metadata key __proto__ is kept as sent", async () => {
    const created = await fetch(`${server.baseUrl}/v1/carts`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: '{"customer_id":"production-patches","metadata":{"__proto__":"kept"}}',
    });
    expect(created.status).toBe(201);
    expect(await created.text()).toContain('"__proto__":"kept"');
  });

  it("drains on SIGTERM and exits 0", async () => {
    process.kill(server.pid, "SIGTERM");
    expect(await server.exited).toBe(0);
    expect(server.logs.find((entry) => entry.message === "shutting down")).toMatchObject({ signal: "SIGTERM" });
    expect(server.logs.at(-1)).toMatchObject({ message: "stopped", exitCode: 0 });
    expect(server.logs.filter((entry) => entry.level === "error")).toEqual([]);
  });
});
