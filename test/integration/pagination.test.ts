import type { MessageInitShape } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CartStatus } from "../../gen/commerce/cart/v1/cart_pb.js";
import { CartService, type ListCartsRequestSchema } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { grpcJsClient } from "../support/grpc-js-client.js";
import { startServer, type TestServer } from "../support/server.js";

let server: TestServer;
let carts: ReturnType<typeof clientFor<typeof CartService>>;
let catalog: ReturnType<typeof clientFor<typeof CatalogService>>;

/** Cart ids of customer "page-a" by status, each list newest first. */
const pageA = { active: [] as string[], completed: [] as string[], deleted: [] as string[] };
/** Ids of this file's 205 products, in id order. */
const productIds = Array.from({ length: 205 }, (_, index) => `page-p-${String(index).padStart(3, "0")}`);

const newestFirst = (ids: string[]) => [...ids].sort().reverse();

beforeAll(async () => {
  server = await startServer();
  const transport = connectTransports(server.baseUrl)["connect+proto (HTTP/2)"]!;
  carts = clientFor(CartService, transport);
  catalog = clientFor(CatalogService, transport);

  const created: string[] = [];
  for (let index = 0; index < 9; index++) created.push((await carts.createCart({ customerId: "page-a" })).cart!.id);
  for (const id of [created[1]!, created[4]!]) await carts.deleteCart({ id });
  // A line that does not ship and an email make the cart completable.
  await catalog.upsertProduct({ product: { id: "page-download", title: "Download", active: true, shippable: false, prices: [{ currency: "USD", amountCents: 100n }] } });
  await carts.addLineItem({ cartId: created[6]!, productId: "page-download", quantity: 1 });
  await carts.updateCart({ cart: { id: created[6]!, email: "page-a@example.com" }, updateMask: { paths: ["email"] } });
  await carts.completeCart({ id: created[6]! });
  pageA.deleted = newestFirst([created[1]!, created[4]!]);
  pageA.completed = [created[6]!];
  pageA.active = newestFirst(created.filter((id) => !pageA.deleted.includes(id) && !pageA.completed.includes(id)));
  for (let index = 0; index < 3; index++) await carts.createCart({ customerId: "page-b" });

  await Promise.all(Array.from({ length: 205 }, () => carts.createCart({ customerId: "page-many" })));
  await Promise.all(productIds.map((id) => catalog.upsertProduct({ product: { id, title: id, active: true, prices: [] } })));
});

afterAll(async () => {
  await server?.stop();
});

/** Follows next_page_token to the end; returns the ids of every page. */
async function listCartPages(request: MessageInitShape<typeof ListCartsRequestSchema>): Promise<string[][]> {
  const pages: string[][] = [];
  let pageToken = "";
  do {
    const response = await carts.listCarts({ ...request, pageToken });
    pages.push(response.carts.map((cart) => cart.id));
    pageToken = response.nextPageToken;
  } while (pageToken !== "" && pages.length < 100);
  return pages;
}

describe("ListCarts", () => {
  it("pages through a customer's carts newest first, without deleted ones, each exactly once", async () => {
    const pages = await listCartPages({ customerId: "page-a", pageSize: 2 });
    expect(pages).toEqual([
      newestFirst([...pageA.active, ...pageA.completed]).slice(0, 2),
      newestFirst([...pageA.active, ...pageA.completed]).slice(2, 4),
      newestFirst([...pageA.active, ...pageA.completed]).slice(4, 6),
      newestFirst([...pageA.active, ...pageA.completed]).slice(6, 7),
    ]);
  });

  it("ends with an empty next_page_token when the last page is exactly full", async () => {
    const visible = newestFirst([...pageA.active, ...pageA.completed]);
    expect(visible).toHaveLength(7);
    const pages = await listCartPages({ customerId: "page-a", pageSize: 7 });
    expect(pages).toEqual([visible]);
  });

  it.each([
    ["active", CartStatus.ACTIVE],
    ["completed", CartStatus.COMPLETED],
    ["deleted", CartStatus.DELETED],
  ] as const)("filters by status %s", async (status, protoStatus) => {
    const pages = await listCartPages({ customerId: "page-a", status: protoStatus, pageSize: 3 });
    expect(pages.flat()).toEqual(pageA[status]);
    expect(pages.slice(0, -1).every((page) => page.length === 3)).toBe(true);
  });

  it("returns only the filtered customer's carts", async () => {
    const { carts: found } = await carts.listCarts({ customerId: "page-b" });
    expect(found.map((cart) => cart.customerId)).toEqual(["page-b", "page-b", "page-b"]);
  });

  it("caps the page size at 200 and defaults to 50", async () => {
    const capped = await carts.listCarts({ customerId: "page-many", pageSize: 1000 });
    expect(capped.carts).toHaveLength(200);
    const rest = await carts.listCarts({ customerId: "page-many", pageSize: 1000, pageToken: capped.nextPageToken });
    expect(rest.carts).toHaveLength(5);
    expect(rest.nextPageToken).toBe("");
    const ids = [...capped.carts, ...rest.carts].map((cart) => cart.id);
    expect(new Set(ids).size).toBe(205);
    expect(ids).toEqual(newestFirst(ids));

    const byDefault = await carts.listCarts({ customerId: "page-many" });
    expect(byDefault.carts.map((cart) => cart.id)).toEqual(ids.slice(0, 50));
  });

  it("keeps later pages stable when carts are created between requests", async () => {
    const first = await carts.listCarts({ customerId: "page-b", pageSize: 2 });
    const { cart: newer } = await carts.createCart({ customerId: "page-b" });
    const second = await carts.listCarts({ customerId: "page-b", pageSize: 2, pageToken: first.nextPageToken });
    const ids = [...first.carts, ...second.carts].map((cart) => cart.id);
    expect(ids).toHaveLength(3);
    expect(ids).not.toContain(newer!.id);
    expect(second.nextPageToken).toBe("");
  });

  it("pages the same way over @grpc/grpc-js", async () => {
    const client = grpcJsClient("CartService", server.port);
    try {
      const ids: string[] = [];
      let page_token = "";
      do {
        const response = await client.ListCarts({ customer_id: "page-a", page_size: 3, page_token });
        ids.push(...response.carts.map((cart: { id: string }) => cart.id));
        page_token = response.next_page_token;
      } while (page_token !== "");
      expect(ids).toEqual(newestFirst([...pageA.active, ...pageA.completed]));
    } finally {
      client.close();
    }
  });
});

describe("ListProducts", () => {
  it("pages through every product in id order, each exactly once", async () => {
    const ids: string[] = [];
    let pageToken = "";
    do {
      const response = await catalog.listProducts({ pageSize: 60, pageToken });
      expect(response.products.length).toBeLessThanOrEqual(60);
      ids.push(...response.products.map((product) => product.id));
      pageToken = response.nextPageToken;
    } while (pageToken !== "");
    // Other test files add products to the same database; ours must all be there, in order.
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => id.startsWith("page-p-"))).toEqual(productIds);
  });

  it("caps the page size at 200", async () => {
    const { products, nextPageToken } = await catalog.listProducts({ pageSize: 1000 });
    expect(products).toHaveLength(200);
    expect(nextPageToken).not.toBe("");
  });
});
