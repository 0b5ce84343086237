import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Code } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { type Browser, chromium, type Page } from "playwright-core";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { formatAmount } from "../../src/domain/money.js";
import { customerToken } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { repoRoot, startServer, type TestServer } from "../support/server.js";

/** Debian's Chromium; `.ci/run` installs it. Playwright never downloads a browser here. */
const chromiumPath = "/usr/bin/chromium";
const hasChromium = existsSync(chromiumPath);
if (!hasChromium) console.warn(`storefront browser tests skipped: no Chromium at ${chromiumPath} (apt-get install chromium)`);

/**
 * The demo store in a database of its own, so the page lists exactly its
 * products (other test files add hundreds to the shared one).
 */
const database = `${new URL(inject("databaseUrl")).pathname.slice(1)}_storefront`;
const databaseUrl = Object.assign(new URL(inject("databaseUrl")), { pathname: `/${database}` }).toString();
const admin = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });

/** Verifies tokens from the test identity provider, as in production: the page takes its token from the URL. */
let shop: TestServer;
/** Development mode (a local signing key): the page fetches its token from /demo/token. */
let devShop: TestServer;
/** No demo store, so no demo page. */
let plain: TestServer;
let devDataDir: string;

beforeAll(async () => {
  await admin.unsafe(`create database ${database}`);
  devDataDir = await mkdtemp(path.join(os.tmpdir(), "cart-storefront-"));
  [shop, devShop, plain] = await Promise.all([
    startServer({ SEED_DEMO_PRODUCTS: "1", DATABASE_URL: databaseUrl }),
    startServer({ SEED_DEMO_PRODUCTS: "1", DATABASE_URL: databaseUrl, AUTH_JWKS: "", AUTH_ISSUER: "", DATA_DIR: devDataDir }),
    startServer(),
  ]);
});

afterAll(async () => {
  await Promise.all([shop?.stop(), devShop?.stop(), plain?.stop()]);
  await admin.unsafe(`drop database if exists ${database} with (force)`);
  await admin.end();
  await rm(devDataDir, { recursive: true, force: true });
});

describe("the demo page's endpoints", () => {
  it("serves the page and its script bundled from TypeScript, with a strict content security policy", async () => {
    const page = await fetch(`${shop.baseUrl}/demo`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/demo/app.js">');
    const script = await fetch(`${shop.baseUrl}/demo/app.js`);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    // Bundled: no bare imports left for the browser to resolve.
    expect(await script.text()).not.toMatch(/\bfrom\s*["']@/);
  });

  it("hands out a short-lived demo customer token in development mode only", async () => {
    const response = await fetch(`${devShop.baseUrl}/demo/token`);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const { token } = (await response.json()) as { token: string };
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ sub: "demo-customer", iss: "cart-service-dev", aud: "cart-service" });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(claims.scope).not.toContain("carts:admin");
    const carts = clientFor(CartService, connectTransports(devShop.baseUrl, token)["connect+json (HTTP/1.1)"]!);
    expect((await carts.createCart({ customerId: "demo-customer" })).cart?.customerId).toBe("demo-customer");
    // A customer's token, not an admin's.
    await expect(carts.createCart({ customerId: "someone-else" })).rejects.toMatchObject({ code: Code.PermissionDenied });

    // With a real identity provider the service mints no tokens.
    expect((await fetch(`${shop.baseUrl}/demo/token`)).status).toBe(404);
  });

  it("is not served without the demo store", async () => {
    expect((await fetch(`${plain.baseUrl}/demo`)).status).toBe(404);
    expect((await fetch(`${plain.baseUrl}/demo/app.js`)).status).toBe(404);
  });
});

describe.skipIf(!hasChromium)("the demo storefront in Chromium", () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });

  afterAll(() => browser?.close());

  /** Does something on the page and waits until the page reports the action it started as finished. */
  async function act(page: Page, action: () => Promise<void>): Promise<{ kind: string | null; text: string | null }> {
    const before = Number((await page.getAttribute("body", "data-actions")) ?? 0);
    await action();
    await page.waitForFunction((count) => Number(document.body.dataset.actions ?? 0) > count, before);
    return { kind: await page.getAttribute("#status", "data-kind"), text: await page.textContent("#status") };
  }

  const rowIds = (page: Page, table: string) =>
    page.locator(`#${table} tr[data-product-id]`).evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.productId));

  it.each([
    ["connect", "application/json"],
    ["grpc-web", "application/grpc-web+proto"],
  ])("fills a cart over %s, showing the totals the API computes", { timeout: 90_000 }, async (transport, contentType) => {
    const customerId = `storefront-${transport}-${randomBytes(3).toString("hex")}`;
    const token = await customerToken(customerId);
    const page = await browser.newPage({ viewport: { width: 1100, height: 640 } });
    const apiContentTypes = new Set<string>();
    page.on("request", (request) => {
      if (new URL(request.url()).pathname.startsWith("/commerce.cart.v1.")) apiContentTypes.add(request.headers()["content-type"] ?? "");
    });
    try {
      const loaded = await act(page, async () => void (await page.goto(`${shop.baseUrl}/demo?transport=${transport}#token=${token}`)));
      expect(loaded).toEqual({ kind: "ok", text: `Connected over ${transport}` });
      expect(await page.textContent("#customer")).toBe(`Signed in as ${customerId}`);
      // The demo store's products that a default-channel cart can hold, in id order.
      expect(await rowIds(page, "catalog")).toEqual(["gift-card-25", "mug-classic", "socks-3pack", "tee-black-m"]);
      expect(await page.textContent('#catalog tr[data-product-id="mug-classic"] td.amount')).toBe("12.99 USD");

      expect(await act(page, () => page.click("#new-cart"))).toEqual({ kind: "ok", text: "Created a cart" });
      const cartId = (await page.textContent("#cart-id"))!;
      expect(cartId).toMatch(/^[0-9a-f-]{36}$/);

      await act(page, () => page.click('#catalog tr[data-product-id="mug-classic"] button'));
      await act(page, () => page.click('#catalog tr[data-product-id="tee-black-m"] button'));
      expect(await rowIds(page, "lines")).toEqual(["mug-classic", "tee-black-m"]);
      expect(await page.textContent("#total-subtotal")).toBe("37.98 USD");

      const mugQuantity = page.locator('#lines tr[data-product-id="mug-classic"] input');
      expect(await act(page, () => mugQuantity.fill("3").then(() => mugQuantity.press("Tab")))).toEqual({ kind: "ok", text: "Updated Classic mug" });
      await act(page, () => page.click('#lines tr[data-product-id="tee-black-m"] button'));
      expect(await rowIds(page, "lines")).toEqual(["mug-classic"]);

      const unknownCode = await act(page, () => page.fill("#promotion-code", "NOPE").then(() => page.press("#promotion-code", "Enter")));
      expect(unknownCode.kind).toBe("error");
      expect(unknownCode.text).toMatch(/^NotFound: .*NOPE/);
      expect(await act(page, () => page.fill("#promotion-code", "welcome10").then(() => page.click("#promotion button[type=submit]")))).toEqual({
        kind: "ok",
        text: "Applied WELCOME10",
      });

      const shown = {
        subtotal: await page.textContent("#total-subtotal"),
        discount: await page.textContent("#total-discount"),
        tax: await page.textContent("#total-tax"),
        total: await page.textContent("#total-total"),
      };
      const { cart } = await clientFor(CartService, connectTransports(shop.baseUrl, token)["connect+json (HTTP/1.1)"]!).getCart({ id: cartId });
      const totals = cart!.totals!;
      // 3 × 12.99, 10 % off (389.7 rounded half-even), tax-free default region.
      expect([totals.subtotal, totals.discountTotal, totals.taxTotal, totals.total]).toEqual([3897n, 390n, 0n, 3507n]);
      expect(shown).toEqual({
        subtotal: formatAmount(totals.subtotal, "USD"),
        discount: formatAmount(-totals.discountTotal, "USD"),
        tax: formatAmount(totals.taxTotal, "USD"),
        total: formatAmount(totals.total, "USD"),
      });
      expect(shown).toEqual({ subtotal: "38.97 USD", discount: "-3.90 USD", tax: "0.00 USD", total: "35.07 USD" });
      expect(cart!.items.map((item) => [item.productId, item.quantity])).toEqual([["mug-classic", 3]]);
      expect(cart!.promoCodes).toEqual(["WELCOME10"]);
      expect(apiContentTypes).toEqual(new Set([contentType]));

      const screenshots = path.join(repoRoot, "test-results");
      await mkdir(screenshots, { recursive: true });
      await page.screenshot({ path: path.join(screenshots, `storefront-${transport}.png`) });
    } finally {
      await page.close();
    }
  });

  it("signs in with the development token when the URL carries none", async () => {
    const page = await browser.newPage();
    try {
      expect(await act(page, async () => void (await page.goto(`${devShop.baseUrl}/demo`)))).toEqual({ kind: "ok", text: "Connected over connect" });
      expect(await page.textContent("#customer")).toBe("Signed in as demo-customer");
      expect(await rowIds(page, "catalog")).toContain("mug-classic");
    } finally {
      await page.close();
    }
  });

  it("tells how to get a token when the service mints none", async () => {
    const page = await browser.newPage();
    try {
      const failed = await act(page, async () => void (await page.goto(`${shop.baseUrl}/demo`)));
      expect(failed).toEqual({ kind: "error", text: expect.stringContaining("open /demo#token=<customer JWT>") });
    } finally {
      await page.close();
    }
  });
});
