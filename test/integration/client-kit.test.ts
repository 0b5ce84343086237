import { copyFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { token } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { type ConsumerProject, consumerProject, readmeCodeBlocks } from "../support/consumer-project.js";
import { repoRoot, startServer, type TestServer } from "../support/server.js";

// What other teams get from us: the descriptor set gen/cart-service.binpb and the README's client code.
let server: TestServer;
let customerToken: string;
const descriptorSet = path.join(repoRoot, "gen/cart-service.binpb");

beforeAll(async () => {
  // The README's client asks for a 30 s deadline; MAX_TIMEOUT_MS allows it whatever the default is.
  server = await startServer({ MAX_TIMEOUT_MS: "3600000" });
  customerToken = await token({ sub: "demo-customer", scope: "carts:read carts:write" });
  const catalog = clientFor(CatalogService, connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!);
  await catalog.upsertProduct({ product: { id: "mug-classic", title: "Classic mug", active: true, prices: [{ currency: "USD", amountCents: 1299n }] } });
});

afterAll(() => server?.stop());

describe("the descriptor set gen/cart-service.binpb", () => {
  let project: ConsumerProject;

  beforeAll(async () => {
    project = await consumerProject();
    await copyFile(descriptorSet, path.join(project.dir, "cart-service.binpb"));
  });

  afterAll(() => project?.remove());

  it("runs the README's @grpc/grpc-js client as written: creates a cart and adds a line", async () => {
    const [snippet, ...others] = await readmeCodeBlocks("js", "// cart-client.mjs");
    expect(snippet, "README.md has one ```js block starting with `// cart-client.mjs`").toBeDefined();
    expect(others).toEqual([]);
    await project.write("cart-client.mjs", snippet!);

    const { stdout } = await project.exec(process.execPath, ["cart-client.mjs"], {
      CART_SERVICE_ADDRESS: `127.0.0.1:${server.port}`,
      CUSTOMER_TOKEN: customerToken,
    });
    const printed = /^cart (\S+): 2 × mug-classic, total 2598 USD, status CART_STATUS_ACTIVE\n$/.exec(stdout);
    expect(printed, stdout).not.toBeNull();

    const carts = clientFor(CartService, connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!);
    const { cart } = await carts.getCart({ id: printed![1]! });
    expect(cart).toMatchObject({ customerId: "demo-customer", totalCents: 2598n });
    expect(cart!.items.map((item) => [item.productId, item.quantity])).toEqual([["mug-classic", 2]]);
  });

  it("makes the README's client report a refusal by its gRPC status", async () => {
    const [snippet] = await readmeCodeBlocks("js", "// cart-client.mjs");
    await project.write("cart-client.mjs", snippet!);
    const failed = await project
      .exec(process.execPath, ["cart-client.mjs"], { CART_SERVICE_ADDRESS: `127.0.0.1:${server.port}`, CUSTOMER_TOKEN: "not-a-jwt" })
      .then(
        () => "",
        (error: Error) => error.message,
      );
    expect(failed).toMatch(/UNAUTHENTICATED: /);
  });

  it("is the schema for `buf curl --schema`, without any .proto file", async () => {
    const buf = path.join(repoRoot, "node_modules/.bin/buf");
    const { stdout } = await project.exec(buf, [
      "curl",
      "--schema",
      "cart-service.binpb",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "-H",
      `Authorization: Bearer ${customerToken}`,
      "-d",
      JSON.stringify({ customer_id: "demo-customer", items: [{ product_id: "mug-classic", quantity: 3 }] }),
      `${server.baseUrl}/commerce.cart.v1.CartService/CreateCart`,
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ cart: { customerId: "demo-customer", totalCents: "3897", items: [{ productId: "mug-classic", quantity: 3 }] } });
  });

  it("describes every service the port serves, for `buf curl --list-methods`", async () => {
    const buf = path.join(repoRoot, "node_modules/.bin/buf");
    const { stdout } = await project.exec(buf, ["curl", "--schema", "cart-service.binpb", "--list-methods"]);
    const services = new Set(stdout.trim().split("\n").map((method) => method.slice(0, method.lastIndexOf("/"))));
    expect([...services].sort()).toEqual([
      "commerce.cart.v1.CartService",
      "commerce.cart.v1.CatalogService",
      "commerce.cart.v1.OrderService",
      "commerce.cart.v1.StoreConfigService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
    ]);
  });
});
