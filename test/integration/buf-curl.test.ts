import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { adminToken } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { repoRoot, startServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);
const buf = path.join(repoRoot, "node_modules/.bin/buf");

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
  const catalog = clientFor(CatalogService, connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!);
  await catalog.upsertProduct({
    product: { id: "curl-mug", title: "Mug", active: true, prices: [{ currency: "USD", amountCents: 1299n }] },
  });
  await catalog.upsertProduct({
    product: { id: "curl-tee", title: "Tee", active: true, prices: [{ currency: "USD", amountCents: 2500n }] },
  });
});

afterAll(() => server?.stop());

const protocols: [string, string[]][] = [
  ["connect", ["--protocol", "connect"]],
  ["grpc", ["--protocol", "grpc", "--http2-prior-knowledge"]],
  ["grpcweb", ["--protocol", "grpcweb"]],
];

/* eslint-disable @typescript-eslint/no-explicit-any -- buf curl prints untyped proto JSON */
describe.concurrent.each(protocols)("buf curl --protocol %s", (protocol, flags) => {
  /** Calls a CartService method the way an engineer would from a shell; the schema comes from the .proto files. */
  async function curl(method: string, body: object): Promise<any> {
    const { stdout } = await run(
      buf,
      [
        "curl",
        "--schema",
        "proto",
        "--schema",
        "third_party/proto",
        ...flags,
        "--header",
        `Authorization: Bearer ${adminToken}`,
        "--data",
        JSON.stringify(body),
        `${server.baseUrl}/commerce.cart.v1.CartService/${method}`,
      ],
      { cwd: repoRoot, timeout: 20_000 },
    );
    return JSON.parse(stdout);
  }

  it("creates, adds, merges, updates, removes and reads back", async () => {
    const { cart: created } = await curl("CreateCart", { customerId: `curl-${protocol}` });
    expect(created).toMatchObject({ customerId: `curl-${protocol}`, status: "CART_STATUS_ACTIVE", currency: "USD" });

    await curl("AddLineItem", { cartId: created.id, productId: "curl-mug", quantity: 2 });
    const { cart: merged } = await curl("AddLineItem", { cartId: created.id, productId: "curl-mug", quantity: 1 });
    expect(merged.items).toHaveLength(1);
    expect(merged.items[0]).toMatchObject({ productId: "curl-mug", quantity: 3, unitPriceCents: "1299", subtotalCents: "3897" });

    const { cart: two } = await curl("AddLineItem", { cartId: created.id, productId: "curl-tee", quantity: 1 });
    expect(two.totalCents).toBe(String(3897 + 2500));
    const mug = two.items.find((item: any) => item.productId === "curl-mug");
    const tee = two.items.find((item: any) => item.productId === "curl-tee");

    const { cart: updated } = await curl("UpdateLineItem", { cartId: created.id, itemId: mug.id, quantity: 5 });
    expect(updated.totalCents).toBe(String(5 * 1299 + 2500));

    const { cart: removed } = await curl("RemoveLineItem", { cartId: created.id, itemId: tee.id });
    expect(removed.items.map((item: any) => item.productId)).toEqual(["curl-mug"]);

    const { cart: read } = await curl("GetCart", { id: created.id });
    expect(read).toEqual(removed);
    expect(read.subtotalCents).toBe(String(5 * 1299));
  });

  it("exits with the gRPC code and prints the error with its violations", async () => {
    const failure = await curl("CreateCart", { customerId: "" }).then(
      () => expect.fail("CreateCart with an empty customer_id succeeded"),
      (error: { code: number; stderr: string }) => error,
    );
    // buf curl exits with the gRPC code shifted left by three bits; 3 is INVALID_ARGUMENT.
    expect(failure.code).toBe(3 << 3);
    const printed = JSON.parse(failure.stderr);
    expect(printed).toMatchObject({ code: "invalid_argument", message: expect.stringContaining("customer_id") });
    expect(printed.details).toEqual([expect.objectContaining({ type: "buf.validate.Violations" })]);
  });
});
/* eslint-enable @typescript-eslint/no-explicit-any */
