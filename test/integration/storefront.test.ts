import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import http2 from "node:http2";
import os from "node:os";
import path from "node:path";
import { Code } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { type Browser, chromium, type Page } from "playwright-core";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Cart, CartStatus } from "../../gen/commerce/cart/v1/cart_pb.js";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { OrderService } from "../../gen/commerce/cart/v1/order_service_pb.js";
import { formatAmount } from "../../src/domain/money.js";
import { adminToken, token } from "../support/auth.js";
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
/** Development mode (a local signing key): the page fetches its token from /demo/token. Any site may call the API (CORS). */
let devShop: TestServer;
/** No demo store, so no demo page. */
let plain: TestServer;
let devDataDir: string;

beforeAll(async () => {
  await admin.unsafe(`create database ${database}`);
  devDataDir = await mkdtemp(path.join(os.tmpdir(), "cart-storefront-"));
  [shop, devShop, plain] = await Promise.all([
    startServer({ SEED_DEMO_PRODUCTS: "1", DATABASE_URL: databaseUrl }),
    startServer({ SEED_DEMO_PRODUCTS: "1", DATABASE_URL: databaseUrl, AUTH_JWKS: "", AUTH_ISSUER: "", DATA_DIR: devDataDir, CORS_ORIGINS: "*" }),
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
    const { token: demoToken } = (await response.json()) as { token: string };
    const claims = decodeJwt(demoToken);
    expect(claims).toMatchObject({ sub: "demo-customer", iss: "cart-service-dev", aud: "cart-service" });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect((claims.scope as string).split(" ")).toEqual(expect.arrayContaining(["carts:read", "carts:write", "carts:checkout"]));
    expect(claims.scope).not.toContain("carts:admin");
    const carts = clientFor(CartService, connectTransports(devShop.baseUrl, demoToken)["connect+json (HTTP/1.1)"]!);
    expect((await carts.createCart({ customerId: "demo-customer" })).cart?.customerId).toBe("demo-customer");
    // A customer's token, not an admin's.
    await expect(carts.createCart({ customerId: "someone-else" })).rejects.toMatchObject({ code: Code.PermissionDenied });

    // With a real identity provider the service mints no tokens.
    expect((await fetch(`${shop.baseUrl}/demo/token`)).status).toBe(404);
  });

  it("hands the demo token to the service's own pages only, never to another site, whatever CORS_ORIGINS allows", async () => {
    const elsewhere = "https://elsewhere.example";
    // Any site may call the API itself…
    const api = await fetch(`${devShop.baseUrl}/v1/products/mug-classic`, { headers: { origin: elsewhere, authorization: `Bearer ${adminToken}` } });
    expect(api.headers.get("access-control-allow-origin")).toBe("*");
    // …but a page elsewhere gets no token to call it with, nor the CORS headers that would let it read the answer.
    const refused = await fetch(`${devShop.baseUrl}/demo/token`, { headers: { origin: elsewhere } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    expect(await refused.json()).toEqual({
      error: "permission_denied",
      message: `demo tokens are handed only to this service's own pages, not to ${elsewhere}`,
      details: [],
    });
    expect((await fetch(`${devShop.baseUrl}/demo/token`, { headers: { origin: "null" } })).status).toBe(403);
    // The demo page's own requests, and requests from no page at all (curl), get one.
    for (const headers of [{ origin: devShop.baseUrl }, {}] as Record<string, string>[]) {
      const response = await fetch(`${devShop.baseUrl}/demo/token`, { headers });
      expect(response.status).toBe(200);
      expect(response.headers.get("access-control-allow-origin")).toBeNull();
      expect(decodeJwt(((await response.json()) as { token: string }).token).sub).toBe("demo-customer");
    }
  });

  it("hands the demo token only to requests addressed to this service, never to a DNS-rebinding page", async () => {
    /** GET /demo/token over a real socket to 127.0.0.1 with the given Host (and that host's Origin, as a page there sends). */
    const askOverHttp1 = (host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = http.get({ host: "127.0.0.1", port: devShop.port, path: "/demo/token", headers: { host, origin: `http://${host}` } });
        request.once("error", reject);
        request.once("response", (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.once("end", () => resolve({ status: response.statusCode!, body: Buffer.concat(chunks).toString() }));
        });
      });
    const askOverHttp2 = (authority: string) =>
      new Promise<number>((resolve, reject) => {
        const session = http2.connect(devShop.baseUrl);
        session.once("error", reject);
        const stream = session.request({ ":path": "/demo/token", ":authority": authority, origin: `http://${authority}` });
        stream.once("response", (headers) => {
          resolve(Number(headers[":status"]));
          session.close();
        });
        stream.resume();
      });
    const rebound = `rebind.attacker.example:${devShop.port}`;
    const refused = await askOverHttp1(rebound);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({
      error: "permission_denied",
      message: "demo tokens are handed only to requests addressed to this service, not to host rebind.attacker.example",
      details: [],
    });
    expect(await askOverHttp2(rebound)).toBe(403);
    // Loopback names and addresses, and the address the service listens on, are its own.
    for (const host of [`localhost:${devShop.port}`, `127.0.0.1:${devShop.port}`, `[::1]:${devShop.port}`, "app.localhost"]) {
      expect((await askOverHttp1(host)).status, host).toBe(200);
    }
    expect(await askOverHttp2(`localhost:${devShop.port}`)).toBe(200);
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

  /** The totals as the page shows them. */
  async function shownTotals(page: Page): Promise<Record<string, string | null>> {
    const shown: Record<string, string | null> = {};
    for (const row of ["subtotal", "shipping", "discount", "tax", "total"]) shown[row] = await page.textContent(`#total-${row}`);
    return shown;
  }

  /** The cart's totals as the page should show them: the discount as what it takes off. */
  const totalsOf = ({ totals, currency }: Cart) => ({
    subtotal: formatAmount(totals!.itemSubtotal, currency),
    shipping: formatAmount(totals!.shippingSubtotal, currency),
    discount: formatAmount(-totals!.discountTotal, currency),
    tax: formatAmount(totals!.taxTotal, currency),
    total: formatAmount(totals!.total, currency),
  });

  /** Cents of "12.99 USD" or "-3.90 USD" as the page writes them. */
  const cents = (shown: string | null | undefined) => {
    const match = /^(-?)(\d+)\.(\d{2}) USD$/.exec(shown ?? "");
    if (!match) throw new Error(`not an amount in USD: ${shown}`);
    return (match[1] ? -1 : 1) * (Number(match[2]) * 100 + Number(match[3]));
  };

  /** What the shopper reads must not be written for developers: no ids, enum names or gRPC code names. */
  async function expectShopperWords(page: Page): Promise<void> {
    const text = await page.evaluate(() => document.body.innerText);
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
    expect(text).not.toMatch(/CART_STATUS|ORDER_STATUS|InvalidArgument|FailedPrecondition|NotFound|PermissionDenied|Aborted|\[\w+\.\w+\]/);
  }

  /** Whether the element is inside the visible part of the page. */
  const inView = (page: Page, selector: string) =>
    page.locator(selector).evaluate((node) => {
      const box = node.getBoundingClientRect();
      return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight;
    });

  const rowIds = (page: Page, table: string) =>
    page.locator(`#${table} tr[data-product-id]`).evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.productId));

  it.each([
    // Unary calls, and WatchCart's server stream.
    ["connect", ["application/json", "application/connect+json"]],
    ["grpc-web", ["application/grpc-web+proto"]],
  ])("fills a cart and places the order over %s, showing the totals the API computes", { timeout: 90_000 }, async (transport, contentTypes) => {
    const customerId = `storefront-${transport}-${randomBytes(3).toString("hex")}`;
    const customer = await token({ sub: customerId, scope: "carts:read carts:write carts:checkout" });
    const page = await browser.newPage({ viewport: { width: 1100, height: 640 } });
    const apiContentTypes = new Set<string>();
    page.on("request", (request) => {
      if (new URL(request.url()).pathname.startsWith("/commerce.cart.v1.")) apiContentTypes.add(request.headers()["content-type"] ?? "");
    });
    try {
      const loaded = await act(page, async () => void (await page.goto(`${shop.baseUrl}/demo?transport=${transport}#token=${customer}`)));
      expect(loaded).toEqual({ kind: "ok", text: `Connected over ${transport}` });
      expect(await page.textContent("#customer")).toBe(`Signed in as ${customerId}`);
      // The demo store's products that a default-channel cart can hold, in id order.
      expect(await rowIds(page, "catalog")).toEqual(["gift-card-25", "mug-classic", "socks-3pack", "tee-black-m"]);
      expect(await page.textContent('#catalog tr[data-product-id="mug-classic"] td.amount')).toBe("12.99 USD");

      // No cart yet: the first Add makes one.
      expect(await page.textContent("#lines")).toBe("Your cart is empty: add a product from the catalog.");
      expect(await page.isDisabled("#checkout-email")).toBe(true);
      const carts = clientFor(CartService, connectTransports(shop.baseUrl, customer)["connect+json (HTTP/1.1)"]!);
      expect((await carts.listCarts({ customerId })).carts).toEqual([]);
      expect(await act(page, () => page.click('#catalog tr[data-product-id="mug-classic"] button'))).toEqual({ kind: "ok", text: "Added Classic mug" });
      const [created] = (await carts.listCarts({ customerId })).carts;
      const cartId = created!.id;
      expect(created!.items.map((item) => [item.productId, item.quantity])).toEqual([["mug-classic", 1]]);

      await act(page, () => page.click('#catalog tr[data-product-id="tee-black-m"] button'));
      expect(await rowIds(page, "lines")).toEqual(["mug-classic", "tee-black-m"]);
      expect(await page.textContent("#total-subtotal")).toBe("37.98 USD");
      expect((await carts.listCarts({ customerId })).carts.map((cart) => cart.id)).toEqual([cartId]);
      // The rate charged, as a percentage: the demo's default region is tax-free.
      expect(await page.textContent("#tax-rates")).toBe("(0 %)");

      const mugQuantity = page.locator('#lines tr[data-product-id="mug-classic"] input');
      expect(await act(page, () => mugQuantity.fill("3").then(() => mugQuantity.press("Tab")))).toEqual({ kind: "ok", text: "Updated Classic mug" });
      const refusedQuantity = await act(page, () => mugQuantity.fill("-1").then(() => mugQuantity.press("Tab")));
      expect(refusedQuantity).toEqual({ kind: "error", text: "Please enter a quantity of 1 or more." });
      expect(await mugQuantity.inputValue()).toBe("3"); // the refused value gives way to the cart as it still is
      await act(page, () => page.click('#lines tr[data-product-id="tee-black-m"] button'));
      expect(await rowIds(page, "lines")).toEqual(["mug-classic"]);

      const unknownCode = await act(page, () => page.fill("#promotion-code", "NOPE").then(() => page.press("#promotion-code", "Enter")));
      expect(unknownCode).toEqual({ kind: "error", text: "The code NOPE is not valid." });
      expect(await act(page, () => page.fill("#promotion-code", "welcome10").then(() => page.click("#promotion button[type=submit]")))).toEqual({
        kind: "ok",
        text: "Code WELCOME10 applied",
      });

      const { cart } = await carts.getCart({ id: cartId });
      // 3 × 12.99, 10 % off (389.7 rounded half-even), tax-free default region.
      expect(await shownTotals(page)).toEqual(totalsOf(cart!));
      expect(await shownTotals(page)).toEqual({ subtotal: "38.97 USD", shipping: "0.00 USD", discount: "-3.90 USD", tax: "0.00 USD", total: "35.07 USD" });
      // The line shows its amount before the discount, which is taken off once, named by its code.
      expect(await page.locator('#lines tr[data-product-id="mug-classic"] td.amount').allTextContents()).toEqual(["12.99 USD", "38.97 USD"]);
      expect(await page.textContent("#label-discount")).toBe("Discount (WELCOME10)");
      expect(cart!.items.map((item) => [item.productId, item.quantity])).toEqual([["mug-classic", 3]]);
      expect(cart!.promoCodes).toEqual(["WELCOME10"]);

      // Checkout: an address without an email first, so that placing the order is refused.
      await page.fill("#checkout-name", "Ada Lovelace");
      await page.fill("#checkout-line1", "1 Main St");
      await page.fill("#checkout-city", "Springfield");
      await page.fill("#checkout-postal-code", "12345");
      await page.fill("#checkout-country", "us");
      expect(await act(page, () => page.click("#checkout button[type=submit]"))).toEqual({ kind: "ok", text: "Email and address saved" });
      // The default region's options, by id, priced in USD.
      expect(await page.locator("#shipping-options label").allTextContents()).toEqual([
        " Express (1 day): 14.99 USD",
        " Standard (3-5 days): 5.99 USD, free from 50.00 USD",
      ]);
      expect(await act(page, () => page.check('#shipping-options input[value="standard"]'))).toEqual({ kind: "ok", text: "Shipping: Standard (3-5 days)" });
      const withShipping = (await carts.getCart({ id: cartId })).cart!;
      expect(withShipping.shippingAddress).toMatchObject({ name: "Ada Lovelace", line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US" });
      expect(withShipping.shippingMethods.map((method) => method.shippingOptionId)).toEqual(["standard"]);
      // 35.07 of items after the discount is below the 50.00 that ships free.
      expect(await shownTotals(page)).toEqual(totalsOf(withShipping));
      expect(await shownTotals(page)).toEqual({ subtotal: "38.97 USD", shipping: "5.99 USD", discount: "-3.90 USD", tax: "0.00 USD", total: "41.06 USD" });
      // They add up visibly: the lines make Items; Items − Discount + Shipping + Tax make Total.
      const lineAmounts = await page.locator("#lines tr[data-product-id] td.amount:nth-child(4)").allTextContents();
      const shown = await shownTotals(page);
      expect(lineAmounts.map(cents).reduce((sum, amount) => sum + amount, 0)).toBe(cents(shown.subtotal));
      expect(cents(shown.subtotal) + cents(shown.discount) + cents(shown.shipping) + cents(shown.tax)).toBe(cents(shown.total));

      expect(await act(page, () => page.click("#place-order"))).toEqual({ kind: "error", text: "Before placing the order, please enter your email." });
      expect(await inView(page, "#status"), "the refusal shows where the shopper is").toBe(true);
      expect(await page.textContent("#cart-status")).toBe("");
      expect(await page.isHidden("#order")).toBe(true);
      await expectShopperWords(page);

      await page.fill("#checkout-email", "ada@example.com");
      expect(await act(page, () => page.click("#checkout button[type=submit]"))).toEqual({ kind: "ok", text: "Email and address saved" });
      expect(await act(page, () => page.click("#place-order"))).toEqual({ kind: "ok", text: "Thank you for your order!" });

      const completed = (await carts.getCart({ id: cartId })).cart!;
      expect(completed.status).toBe(CartStatus.COMPLETED);
      expect(completed.email).toBe("ada@example.com");
      const orders = clientFor(OrderService, connectTransports(shop.baseUrl, adminToken)["connect+json (HTTP/1.1)"]!);
      const { order } = await orders.getOrder({ id: completed.orderId });
      expect(order!.cartId).toBe(cartId);
      expect(order!.totals!.total).toBe(withShipping.totals!.total);
      expect({
        reference: await page.textContent("#order-reference"),
        status: await page.textContent("#order-status"),
        total: await page.textContent("#order-total"),
        email: await page.textContent("#order-email"),
      }).toEqual({
        reference: order!.id.replaceAll("-", "").slice(-8).toUpperCase(),
        status: "received",
        total: formatAmount(order!.totals!.total, "USD"),
        email: "ada@example.com",
      });
      expect(await page.textContent("#order-total")).toBe("41.06 USD");
      // Where the shopper looks: in view and focused.
      expect(await inView(page, "#order")).toBe(true);
      expect(await page.evaluate(() => document.activeElement?.id)).toBe("order");
      await expectShopperWords(page);

      // The completed cart stays on the page, read-only.
      expect(await page.textContent("#cart-status")).toBe("ordered");
      for (const control of [
        '#catalog tr[data-product-id="socks-3pack"] button',
        '#lines tr[data-product-id="mug-classic"] input',
        '#lines tr[data-product-id="mug-classic"] button',
        "#promotion-code",
        "#checkout-email",
        '#shipping-options input[value="express"]',
        "#place-order",
      ]) {
        expect(await page.isDisabled(control), control).toBe(true);
      }
      expect(apiContentTypes).toEqual(new Set(contentTypes));

      const screenshots = path.join(repoRoot, "test-results");
      await mkdir(screenshots, { recursive: true });
      await page.screenshot({ path: path.join(screenshots, `storefront-${transport}.png`), fullPage: true });

      // Shopping on: the next Add starts a new cart.
      expect(await act(page, () => page.click("#continue-shopping"))).toEqual({ kind: "ok", text: "Your cart is empty again" });
      expect(await page.isHidden("#order")).toBe(true);
      expect(await act(page, () => page.click('#catalog tr[data-product-id="socks-3pack"] button'))).toEqual({ kind: "ok", text: "Added Socks, 3 pairs" });
      expect(await rowIds(page, "lines")).toEqual(["socks-3pack"]);
      const after = (await carts.listCarts({ customerId })).carts;
      expect(after.map((listed) => listed.status).sort()).toEqual([CartStatus.ACTIVE, CartStatus.COMPLETED]);
    } finally {
      await page.close();
    }
  });

  it.each(["connect", "grpc-web"])(
    "over %s, a second tab on another process shows the cart the first one works on, and each change it makes",
    { timeout: 90_000 },
    async (transport) => {
      const customerId = `storefront-tabs-${transport}-${randomBytes(3).toString("hex")}`;
      const customer = await token({ sub: customerId, scope: "carts:read carts:write carts:checkout" });
      const otherProcess = await startServer({ SEED_DEMO_PRODUCTS: "1", DATABASE_URL: databaseUrl });
      const [first, second] = [await browser.newPage(), await browser.newPage()];
      try {
        await act(first, async () => void (await first.goto(`${shop.baseUrl}/demo?transport=${transport}#token=${customer}`)));
        // The first Add creates the cart; the second tab, opened afterwards, shows that cart.
        await act(first, () => first.click('#catalog tr[data-product-id="mug-classic"] button'));
        await act(second, async () => void (await second.goto(`${otherProcess.baseUrl}/demo?transport=${transport}#token=${customer}`)));
        await second.waitForSelector('#lines tr[data-product-id="mug-classic"]', { timeout: 10_000 });
        await act(first, () => first.click('#catalog tr[data-product-id="tee-black-m"] button'));
        await second.waitForFunction(() => document.querySelectorAll("#lines tr[data-product-id]").length === 2, undefined, { timeout: 10_000 });
        expect(await shownTotals(second)).toEqual(await shownTotals(first));
        expect(await rowIds(second, "lines")).toEqual(["mug-classic", "tee-black-m"]);
      } finally {
        await Promise.all([first.close(), second.close()]);
        await otherProcess.stop();
      }
    },
  );

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
