import { copyFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { token } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { type ConsumerProject, consumerProject } from "../support/consumer-project.js";
import { readmeCodeBlocks } from "../support/readme.js";
import { repoRoot, startServer, type TestServer } from "../support/server.js";

// A REST team's client: types generated from openapi.json by openapi-typescript, calls by openapi-fetch.
let server: TestServer;
let project: ConsumerProject;

beforeAll(async () => {
  server = await startServer();
  const catalog = clientFor(CatalogService, connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!);
  await catalog.upsertProduct({ product: { id: "mug-classic", title: "Classic mug", active: true, prices: [{ currency: "USD", amountCents: 1299n }] } });
  project = await consumerProject();
  await copyFile(path.join(repoRoot, "openapi.json"), path.join(project.dir, "openapi.json"));
  await project.exec(process.execPath, [path.join(repoRoot, "node_modules/openapi-typescript/bin/cli.js"), "openapi.json", "-o", "cart-api.d.ts"]);
  await project.write(
    "tsconfig.json",
    JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noUncheckedIndexedAccess: true, types: ["node"], skipLibCheck: true, outDir: "out" },
    }),
  );
}, 60_000);

afterAll(async () => {
  await project?.remove();
  await server?.stop();
});

describe("a REST client generated from openapi.json", () => {
  it("compiles against the generated types and runs the README's example: creates and reads a cart, types the refusal", async () => {
    const [snippet, ...others] = await readmeCodeBlocks("ts", "// rest-client.ts");
    expect(snippet, "README.md has one ```ts block starting with `// rest-client.ts`").toBeDefined();
    expect(others).toEqual([]);
    await project.write("rest-client.ts", snippet!);
    await project.exec(process.execPath, [path.join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", "."]);

    const { stdout } = await project.exec(process.execPath, ["out/rest-client.js"], {
      CART_SERVICE_URL: server.baseUrl,
      CUSTOMER_TOKEN: await token({ sub: "demo-customer", scope: "carts:read carts:write" }),
    });
    expect(stdout).toMatch(/^201 \{ id: '[0-9a-f-]{36}', total_cents: '2598' \}\n400 invalid_argument customer_id\n$/);
  });

  it("is refused by the compiler when the code breaks the document's types", async () => {
    await project.write("wrong.ts", `import createClient from "openapi-fetch";\nimport type { paths } from "./cart-api.js";\nawait createClient<paths>().POST("/v1/carts", { body: { customer_id: 42 } });\n`);
    const failed = await project.exec(process.execPath, [path.join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", "."]).then(
      () => "",
      (error: Error) => error.message,
    );
    expect(failed).toMatch(/wrong\.ts.*Type 'number' is not assignable to type 'string'/s);
  });
});
