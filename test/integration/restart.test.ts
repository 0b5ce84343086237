import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { startServer, type TestServer } from "../support/server.js";

let dataDir: string;
let server: TestServer | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "cart-restart-"));
  // As root the embedded server runs as a separate postgres user, which must reach the directory.
  await chmod(dataDir, 0o755);
});

afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** The service as `npm start` runs it without DATABASE_URL: embedded PostgreSQL with its data under DATA_DIR. */
async function startEmbedded(): Promise<TestServer> {
  server = await startServer({ DATABASE_URL: "", DATA_DIR: dataDir });
  const listening = server.logs.find((entry) => entry.message === "cart service listening");
  expect(listening?.database).toBe(`embedded PostgreSQL, data in ${path.join(dataDir, "postgres")}`);
  return server;
}

it("keeps carts across a restart of the embedded-database mode", { timeout: 120_000 }, async () => {
  const first = await startEmbedded();
  const transport = connectTransports(first.baseUrl)["connect+json (HTTP/1.1)"]!;
  await clientFor(CatalogService, transport).upsertProduct({
    product: { id: "restart-mug", title: "Mug", active: true, prices: [{ currency: "USD", amountCents: 700n }] },
  });
  const carts = clientFor(CartService, transport);
  const { cart: created } = await carts.createCart({ customerId: "restart", items: [{ productId: "restart-mug", quantity: 2 }] });
  const { cart: saved } = await carts.addLineItem({ cartId: created!.id, productId: "restart-mug", quantity: 1 });
  await first.stop();

  const second = await startEmbedded();
  const { cart: read } = await clientFor(CartService, connectTransports(second.baseUrl)["connect+json (HTTP/1.1)"]!).getCart({
    id: created!.id,
  });
  expect(read).toEqual(saved);
  expect(read?.totalCents).toBe(2100n);
});
