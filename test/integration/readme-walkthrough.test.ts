import { execFile, spawnSync } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { token } from "../support/auth.js";
import { readmeCodeBlocks } from "../support/readme.js";
import { startServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);

/** The demo store in a database of its own: the walkthrough lists the default region's shipping options. */
const database = `${new URL(inject("databaseUrl")).pathname.slice(1)}_walkthrough`;
const databaseUrl = Object.assign(new URL(inject("databaseUrl")), { pathname: `/${database}` }).toString();
const admin = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
let server: TestServer;

beforeAll(async () => {
  await admin.unsafe(`create database ${database}`);
  server = await startServer({ SEED_DEMO_PRODUCTS: "1", DATABASE_URL: databaseUrl });
});

afterAll(async () => {
  await server?.stop();
  await admin.unsafe(`drop database if exists ${database} with (force)`);
  await admin.end();
});

/** The walkthrough is for a shell with curl; a machine without it skips the test, saying so. */
const hasCurl = spawnSync("curl", ["--version"]).status === 0;
if (!hasCurl) console.warn("README walkthrough test skipped: no curl (apt-get install curl)");

const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

describe.skipIf(!hasCurl)("the README's checkout walkthrough", () => {
  it("runs in bash as written (curl and node only) and prints the output it shows", async () => {
    const [block, ...others] = await readmeCodeBlocks("sh", "# Checkout walkthrough");
    expect(block, "README.md has one ```sh block starting with `# Checkout walkthrough`").toBeDefined();
    expect(others).toEqual([]);
    expect(block).toContain("B=http://localhost:8080\n");
    const script = block!.replace("B=http://localhost:8080\n", `B=${server.baseUrl}\n`);
    const { stdout } = await run("bash", ["-c", script], {
      timeout: 60_000,
      env: {
        PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`,
        CUSTOMER_TOKEN: await token({ sub: "demo-customer", scope: "carts:read carts:write carts:checkout" }),
      },
    });
    const shown = [...block!.matchAll(/^#> (.*)$/gm)].map((match) => match[1]!);
    expect(shown.length).toBe(6);
    expect(stdout.replace(uuid, "<id>")).toBe(shown.map((line) => `${line.replace(uuid, "<id>")}\n`).join(""));
  });
});
