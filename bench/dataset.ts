import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { runMigrations } from "../src/storage/database.js";
import { startEmbeddedPostgres } from "../src/storage/embedded-postgres.js";
import { findPostmaster } from "./tools.js";

/**
 * The fixed data set: carts and lines get ids computable from their number,
 * so request bodies and pgbench scripts can address any seeded cart.
 */
export const dataset = { carts: 10_000, linesPerCart: 3, products: 1_000, currency: "USD" } as const;

/** The publishable key the Store API rows send (seeded; any sales channel). */
export const benchPublishableKey = `pk_${"be".repeat(32)}`;

/**
 * Which carts each kind of load may touch. pgbench replays one recorded
 * transaction on random carts, writing that transaction's values (totals,
 * timestamps) into them, so its carts are kept apart from those the service
 * reads and writes through its API.
 */
export const cartRanges = {
  service: { first: 1, last: dataset.carts / 2 },
  pgbench: { first: dataset.carts / 2 + 1, last: dataset.carts },
} as const;

const cartPrefix = "00000000-0000-7000-8000-";
const linePrefix = "00000000-0000-7000-9000-";
/** Line ids reserved per cart, at least linesPerCart. */
const lineIdsPerCart = 4;

/** Seeded cart n (1-based). */
export function cartId(n: number): string {
  return cartPrefix + n.toString(16).padStart(12, "0");
}

/** Line k (0-based) of seeded cart n. */
export function lineId(n: number, k: number): string {
  return linePrefix + (n * lineIdsPerCart + k).toString(16).padStart(12, "0");
}

/** Product of line k of seeded cart n: lines of one cart are distinct products. */
export function productOfLine(n: number, k: number): string {
  return `p-${((n * dataset.linesPerCart + k) % dataset.products) + 1}`;
}

/** The same three functions as SQL expressions over an integer expression `n`. */
export const sqlExpressions = {
  cartId: (n: string) => `('${cartPrefix}' || lpad(to_hex((${n})::int), 12, '0'))::uuid`,
  lineId: (n: string, k: string | number) => `('${linePrefix}' || lpad(to_hex((${n})::int * ${lineIdsPerCart} + ${k}), 12, '0'))::uuid`,
  productOfLine: (n: string, k: string | number) => `('p-' || ((${n} * ${dataset.linesPerCart} + ${k}) % ${dataset.products} + 1))`,
};

export interface BenchDatabase {
  readonly url: string;
  /** Where it lives, for the report. */
  readonly description: string;
  /** The PostgreSQL server process when it runs on this machine, to measure its CPU. */
  readonly serverPid: number | undefined;
  close(): Promise<void>;
}

/**
 * A fresh, migrated and seeded database named cart_bench: on the server of
 * BENCH_DATABASE_URL when set, else on an embedded PostgreSQL in a temp dir.
 * The seed is written for the first migration's tables; the later migrations
 * then carry it forward as they carry production data, so the seed does not
 * have to follow every schema change.
 */
export async function prepareDatabase(serverUrl = process.env.BENCH_DATABASE_URL): Promise<BenchDatabase> {
  let embeddedDir: string | undefined;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!serverUrl) {
    embeddedDir = await mkdtemp(path.join(os.tmpdir(), "cart-bench-pg-"));
    // As root the server runs as a separate postgres user, which must reach the directory.
    await chmod(embeddedDir, 0o755);
    const embedded = await startEmbeddedPostgres({ dataDir: path.join(embeddedDir, "data"), database: "postgres", persistent: false });
    serverUrl = embedded.url;
    stopEmbedded = embedded.stop;
  }
  const name = "cart_bench";
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  await migrateToFirstSchema(url.toString(), embeddedDir ?? os.tmpdir());
  await seed(url.toString());
  await runMigrations(url.toString());
  // Keys came with a later schema than the seed's.
  const bench = postgres(url.toString(), { max: 1, onnotice: () => {} });
  await bench`insert into publishable_keys (id, token, title, created_at) values (gen_random_uuid(), ${benchPublishableKey}, 'bench', now())`;
  // Fresh statistics and no dead rows left by the migrations' updates.
  await bench`vacuum analyze`;
  await bench.end();
  const [settings] = await admin`
    select current_setting('server_version') as version, current_setting('data_directory', true) as directory`;
  return {
    url: url.toString(),
    description: `${stopEmbedded ? "embedded" : "external"} PostgreSQL ${settings!.version}`,
    serverPid: settings!.directory ? findPostmaster(settings!.directory as string) : undefined,
    close: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
      await stopEmbedded?.();
      if (embeddedDir) await rm(embeddedDir, { recursive: true, force: true });
    },
  };
}

const migrationsFolder = fileURLToPath(new URL("../migrations", import.meta.url));

/** Applies only the first committed migration (drizzle-kit's journal, cut to its first entry). */
async function migrateToFirstSchema(url: string, scratchDir: string): Promise<void> {
  const journal = JSON.parse(await readFile(path.join(migrationsFolder, "meta/_journal.json"), "utf8")) as {
    entries: { tag: string }[];
  };
  const first = journal.entries[0]!;
  const folder = await mkdtemp(path.join(scratchDir, "first-migration-"));
  await mkdir(path.join(folder, "meta"));
  await writeFile(path.join(folder, "meta/_journal.json"), JSON.stringify({ ...journal, entries: [first] }));
  await copyFile(path.join(migrationsFolder, `${first.tag}.sql`), path.join(folder, `${first.tag}.sql`));
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await migrate(drizzle(sql), { migrationsFolder: folder });
  } finally {
    await sql.end();
    await rm(folder, { recursive: true, force: true });
  }
}

async function seed(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const { carts, linesPerCart, products, currency } = dataset;
  try {
    await sql.begin(async (tx) => {
      await tx.unsafe(`
        insert into products (id, title, active, created_at, updated_at)
        select 'p-' || i, 'Product ' || i, true, now(), now() from generate_series(1, ${products}) i`);
      await tx.unsafe(`
        insert into product_prices (product_id, currency, amount)
        select 'p-' || i, '${currency}', 100 + (i * 37) % 9900 from generate_series(1, ${products}) i`);
      await tx.unsafe(`
        -- Guest carts: the Store API rows reach them by id, as a storefront's shoppers do.
        insert into carts (id, customer_id, status, currency, email, metadata, subtotal, total, item_quantity,
                           version, created_at, updated_at)
        select ${sqlExpressions.cartId("n")}, 'guest:customer-' || n, 'active', '${currency}', '', '{}', 0, 0, 0, 1, now(), now()
        from generate_series(1, ${carts}) n`);
      // Lines are created one microsecond apart so their order (created_at, id) is their number.
      await tx.unsafe(`
        insert into line_items (id, cart_id, product_id, title, quantity, unit_price, created_at, updated_at)
        select ${sqlExpressions.lineId("n", "k")}, ${sqlExpressions.cartId("n")}, p.id, p.title, k + 1,
               pp.amount, now() + k * interval '1 microsecond', now()
        from generate_series(1, ${carts}) n
        cross join generate_series(0, ${linesPerCart - 1}) k
        join products p on p.id = ${sqlExpressions.productOfLine("n", "k")}
        join product_prices pp on pp.product_id = p.id and pp.currency = '${currency}'`);
      await tx.unsafe(`
        update carts c set subtotal = s.subtotal, total = s.subtotal, item_quantity = s.quantity
        from (select cart_id, sum(quantity * unit_price) as subtotal, sum(quantity) as quantity
              from line_items group by cart_id) s
        where s.cart_id = c.id`);
    });
  } finally {
    await sql.end();
  }
}

/** Numbers the success checks compare with what h2load counted. */
export async function cartCount(sql: postgres.Sql): Promise<number> {
  const [row] = await sql`select count(*)::int as count from carts`;
  return row!.count as number;
}

/** Sum of versions: every successful change bumps its cart's version by one. */
export async function versionSum(sql: postgres.Sql, cartNumbers: readonly number[]): Promise<number> {
  const [row] = await sql`select coalesce(sum(version), 0)::int8 as sum from carts where id = any(${cartNumbers.map(cartId)}::uuid[])`;
  return Number(row!.sum);
}
