import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../support/server.js";
import { seedStore, storeCall, type StoreFixture } from "../support/store.js";

let server: TestServer;
let shop: StoreFixture;

beforeAll(async () => {
  server = await startServer();
  shop = await seedStore(server.baseUrl, "api");
});

afterAll(() => server?.stop());

const store = (method: string, path: string, options: Parameters<typeof storeCall>[3] = {}) =>
  storeCall(server.baseUrl, method, path, { key: shop.key, ...options });

describe("smoke", () => {
  it("runs", async () => {
    const created = await store("POST", "/store/carts", { body: { region_id: shop.regionId } });
    console.log(JSON.stringify(created.body).slice(0, 3000));
    const id = created.body.cart.id;
    const added = await store("POST", `/store/carts/${id}/line-items`, { body: { variant_id: shop.mugId, quantity: 3 } });
    console.log(added.status, JSON.stringify(added.body).slice(0, 4000));
    expect(added.status).toBe(200);
  });
});
