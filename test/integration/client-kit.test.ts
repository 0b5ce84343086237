import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { token } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { type ConsumerProject, consumerProject } from "../support/consumer-project.js";
import { readmeCodeBlocks } from "../support/readme.js";
import { repoRoot, startServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);

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
    const servicesIn = (listing: string) => [...new Set(listing.trim().split("\n").map((method) => method.slice(0, method.lastIndexOf("/"))))].sort();
    const described = servicesIn((await project.exec(buf, ["curl", "--schema", "cart-service.binpb", "--list-methods"])).stdout);
    // What the running service lists through reflection; the set leaves out only the older alias of reflection itself.
    const served = servicesIn((await run(buf, ["curl", "--http2-prior-knowledge", "--list-methods", server.baseUrl])).stdout);
    expect(described).toEqual(served.filter((service) => service !== "grpc.reflection.v1alpha.ServerReflection"));
    expect(described).toContain("commerce.cart.v1.CartService");
  });
});

describe("the packed client kit (npm pack), installed into another project", () => {
  let project: ConsumerProject;
  let packDir: string;

  beforeAll(async () => {
    packDir = await mkdtemp(path.join(os.tmpdir(), "cart-pack-"));
    // `npm pack` runs the "prepack" script, which compiles the kit into dist-client/.
    const { stdout } = await run("npm", ["pack", "--pack-destination", packDir], { cwd: repoRoot, timeout: 120_000 });
    const tarball = path.join(packDir, stdout.trim().split("\n").at(-1)!);
    project = await consumerProject({ linkRepositoryModules: false });
    await project.installTarball(tarball, ["@types/node"]);
    await project.write(
      "tsconfig.json",
      JSON.stringify({
        compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, types: ["node"], skipLibCheck: true, outDir: "out" },
      }),
    );
  }, 240_000);

  afterAll(async () => {
    await project?.remove();
    if (packDir) await rm(packDir, { recursive: true, force: true });
  });

  /** Compiles the project's TypeScript strictly against the installed .d.ts files, then runs `file` with node. */
  async function compileAndRun(file: string, env: Record<string, string>): Promise<string> {
    await project.exec(process.execPath, [path.join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", "."]);
    return (await project.exec(process.execPath, [path.join("out", file.replace(/\.ts$/, ".js"))], env)).stdout;
  }

  it("holds only the kit: compiled client with types, descriptor set, protos, OpenAPI", async () => {
    const installed = path.join(project.dir, "node_modules/cart-service");
    const files = (await readdir(installed, { recursive: true })).map(String);
    expect(files).toEqual(expect.arrayContaining(["dist-client/client/index.js", "dist-client/client/index.d.ts", "gen/cart-service.binpb", "openapi.json"]));
    expect(files.filter((file) => file.startsWith("src") || (file.endsWith(".ts") && !file.endsWith(".d.ts")))).toEqual([]);
  });

  it("runs the README's typed client as written, over @connectrpc/connect-node's gRPC transport", async () => {
    const [snippet, ...others] = await readmeCodeBlocks("ts", "// cart-client.ts");
    expect(snippet, "README.md has one ```ts block starting with `// cart-client.ts`").toBeDefined();
    expect(others).toEqual([]);
    await project.write("cart-client.ts", snippet!);
    const stdout = await compileAndRun("cart-client.ts", { CART_SERVICE_URL: server.baseUrl, CUSTOMER_TOKEN: customerToken });
    expect(stdout).toMatch(/^cart \S+: total 2598 USD, status ACTIVE\n$/);
  });

  it("serves @connectrpc/connect-web's transports (Connect and gRPC-Web over fetch) with the same types", async () => {
    await project.write(
      "web-client.ts",
      `import { createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { type Cart, CartService } from "cart-service/client";

const bearer: Interceptor = (next) => (request) => {
  request.header.set("authorization", "Bearer " + process.env.CUSTOMER_TOKEN);
  return next(request);
};
const options = { baseUrl: process.env.CART_SERVICE_URL!, interceptors: [bearer] };
const transports: Transport[] = [createConnectTransport(options), createGrpcWebTransport(options)];
for (const transport of transports) {
  const { cart } = await createClient(CartService, transport).createCart({
    customerId: "demo-customer",
    items: [{ productId: "mug-classic", quantity: 1 }],
  });
  const total: Cart["totalCents"] = cart!.totalCents;
  console.log(typeof total, total.toString());
}
`,
    );
    const stdout = await compileAndRun("web-client.ts", { CART_SERVICE_URL: server.baseUrl, CUSTOMER_TOKEN: customerToken });
    expect(stdout).toBe("bigint 1299\nbigint 1299\n");
  });
});
