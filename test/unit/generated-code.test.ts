import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const buf = path.join(repoRoot, "node_modules/.bin/buf");

/** Paths of every file under `dir`, relative to it, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  const files = await Promise.all(entries.map(async (entry) => ((await stat(path.join(dir, entry))).isFile() ? [entry] : [])));
  return files.flat().sort();
}

describe("generated code", () => {
  let freshDir: string;

  beforeAll(async () => {
    if (!existsSync(path.join(repoRoot, "third_party/proto"))) {
      throw new Error("third_party/proto is missing: run `npm run generate` (or `npm run lint`) first");
    }
    freshDir = await mkdtemp(path.join(os.tmpdir(), "cart-gen-"));
    // The repository's own buf.gen.yaml, with every `out` placed under freshDir.
    await run(buf, ["generate", "--output", freshDir], { cwd: repoRoot, timeout: 60_000 });
    // The descriptor set other teams load (package.json "generate" writes it the same way).
    await run(buf, ["build", "--as-file-descriptor-set", "-o", path.join(freshDir, "gen/cart-service.binpb")], { cwd: repoRoot, timeout: 60_000 });
  }, 120_000);

  afterAll(async () => {
    if (freshDir) await rm(freshDir, { recursive: true, force: true });
  });

  it("gen/ matches what `buf generate` and `buf build` produce from the protos (run `npm run generate` when this fails)", async () => {
    const fresh = path.join(freshDir, "gen");
    const committed = path.join(repoRoot, "gen");
    const freshFiles = await filesUnder(fresh);
    expect(freshFiles.length).toBeGreaterThan(0);
    expect(await filesUnder(committed)).toEqual(freshFiles);
    const stale: string[] = [];
    for (const file of freshFiles) {
      const [want, have] = await Promise.all([readFile(path.join(fresh, file)), readFile(path.join(committed, file))]);
      if (!want.equals(have)) stale.push(file);
    }
    expect(stale).toEqual([]);
  });

  it("the protos pass `buf lint`", async () => {
    const lint = await run(buf, ["lint"], { cwd: repoRoot, timeout: 60_000 }).then(
      () => "",
      (error: { stdout: string; stderr: string }) => `${error.stdout}${error.stderr}`,
    );
    expect(lint).toBe("");
  });
});
