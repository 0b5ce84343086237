import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../support/server.js";

// `npm start` without AUTH_JWKS: a local signing key and ready-made tokens for a newcomer.
let server: TestServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "cart-dev-mode-"));
  server = await startServer({ AUTH_JWKS: "", AUTH_ISSUER: "", DATA_DIR: dataDir });
});

afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** The `export NAME=value` lines of the tokens file, as a shell that sources it would set them. */
async function sourcedTokens(): Promise<Record<string, string>> {
  const tokensFile = path.join(dataDir, "dev-tokens.env");
  // The banner is written once the service listens; the file with it.
  for (let attempt = 0; attempt < 100; attempt++) {
    const text = await readFile(tokensFile, "utf8").catch(() => "");
    if (text.includes("ADMIN_TOKEN")) return Object.fromEntries([...text.matchAll(/^export (\w+)=(\S+)$/gm)].map((match) => [match[1]!, match[2]!]));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${tokensFile} was not written`);
}

describe("development mode", () => {
  it("names every protocol of the port, REST included, when it starts listening", () => {
    const listening = server.logs.find((entry) => entry.message === "cart service listening");
    expect(listening?.protocols).toEqual(["grpc", "grpc-web", "connect", "rest"]);
  });

  it("keeps the printed tokens in DATA_DIR/dev-tokens.env (owner-only), and they work", async () => {
    const tokens = await sourcedTokens();
    expect(Object.keys(tokens).sort()).toEqual(["ADMIN_TOKEN", "CUSTOMER_TOKEN"]);
    expect((await stat(path.join(dataDir, "dev-tokens.env"))).mode & 0o777).toBe(0o600);

    const asCustomer = await fetch(`${server.baseUrl}/v1/carts`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.CUSTOMER_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ customer_id: "demo-customer" }),
    });
    expect(asCustomer.status).toBe(201);
    const asAdmin = await fetch(`${server.baseUrl}/v1/orders?page_size=1`, { headers: { authorization: `Bearer ${tokens.ADMIN_TOKEN}` } });
    expect(asAdmin.status).toBe(200);
  });
});
