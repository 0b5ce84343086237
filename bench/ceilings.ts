import { writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { createApp } from "../src/app.js";
import { setUpAuthentication } from "../src/auth-setup.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { prepareStore } from "../src/store-setup.js";
import { UnaryInvoker } from "../src/transport/protocols/services.js";
import { cartId, cartRanges, dataset, lineId, productOfLine, sqlExpressions } from "./dataset.js";
import { type Operation, operations, rpcFor } from "./requests.js";
import { execute } from "./tools.js";

/** The seeded cart whose recorded statements become the pgbench template. */
const templateCart = cartRanges.pgbench.first;

interface Statement {
  readonly text: string;
  readonly parameters: readonly unknown[];
  /** The parameters' type oids: those the driver sent, then as the server resolved the rest (0: unknown). */
  readonly types: readonly number[];
  /** Statements of one event-loop turn went out in one write, pipelined; pgbench replays them the same way. */
  readonly turn: number;
}

/**
 * Runs each operation once through the service's own code (interceptors,
 * service, repositories) on a client that records every statement it sends,
 * and turns the recording into a pgbench script: parameters become literals,
 * except the template cart's ids, which become expressions of a random cart
 * number, and ids the call minted (the new cart's, the event's), which become
 * a fresh UUIDv7 per transaction. So the ceiling is exactly the SQL the service
 * runs, and follows it when the repositories change.
 */
export async function writePgbenchScripts(
  databaseUrl: string,
  workDir: string,
  identity: { env: Record<string, string>; authorization: string },
): Promise<Record<Operation, string>> {
  const recorded: Statement[] = [];
  let turn = 0;
  let turnEnds = false;
  // The same driver settings as src/storage/database.ts, plus the recorder.
  const sql = postgres(databaseUrl, {
    max: 1,
    onnotice: () => {},
    types: { bigint: postgres.BigInt },
    debug: (_connection, text, parameters, types) => {
      recorded.push({ text, parameters, types: types ?? [], turn });
      if (!turnEnds) {
        turnEnds = true;
        setImmediate(() => {
          turn++;
          turnEnds = false;
        });
      }
    },
  });
  const config = loadConfig(identity.env);
  const log = createLogger({ level: "error" });
  const { verify } = await setUpAuthentication(config, log);
  const database = { sql, db: drizzle(sql), ping: async () => void (await sql`select 1`), close: () => sql.end() };
  await prepareStore(config, database, log);
  const app = createApp(config, database, log, verify);
  const invoker = new UnaryInvoker(app.services, app.interceptors);
  const n = templateCart;
  const recordings = new Map<Operation, Statement[]>();
  try {
    await sql`select 1`; // the driver's own start-up queries are not part of any operation
    for (const operation of operations) {
      // The very request the load sends, for the template cart.
      const { method, input } = rpcFor(operation, n, "health");
      const path = `/${method.parent.typeName}/${method.name}`;
      const invoke = () =>
        invoker.invoke(invoker.methods().get(path)!, create(method.input, input), {
          protocolName: "grpc",
          requestMethod: "POST",
          url: `http://bench${path}`,
          requestHeader: new Headers({ authorization: identity.authorization }),
        });
      // The first call prepares its statements, one round trip each; the second runs as under load.
      await invoke();
      recorded.length = 0;
      await invoke();
      recordings.set(operation, recorded.splice(0));
    }
    // The driver sends most parameters untyped (0); the server's description of the statement has their types.
    for (const [operation, statements] of recordings) {
      const described = async (statement: Statement): Promise<Statement> => {
        if (statement.parameters.length === 0) return statement;
        const { types } = await sql.unsafe(statement.text).describe();
        return { ...statement, types: types.map((type, i) => statement.types[i] || type) };
      };
      recordings.set(operation, await Promise.all(statements.map(described)));
    }
    const oids = [...new Set([...recordings.values()].flat().flatMap((statement) => statement.types))];
    const typeNames = new Map(
      (await sql`select oid::int as oid, quote_ident(typname) as name from pg_type where oid = any(${oids}::oid[])`).map(
        (row) => [row.oid as number, row.name as string],
      ),
    );
    const seeded = new Map<string, string>([
      [cartId(n), sqlExpressions.cartId(":n")],
      ...Array.from({ length: dataset.linesPerCart }, (_, k): [string, string][] => [
        [lineId(n, k), sqlExpressions.lineId(":n", k)],
        [productOfLine(n, k), sqlExpressions.productOfLine(":n", k)],
      ]).flat(),
    ]);
    const scripts = {} as Record<Operation, string>;
    for (const [operation, statements] of recordings) {
      const file = join(workDir, `${operation}.sql`);
      await writeFile(file, pgbenchScript(statements, seeded, typeNames));
      scripts[operation] = file;
    }
    return scripts;
  } finally {
    await sql.end();
  }
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** postgres.js hands arrays over serialized ('{"a","b"}'): their elements, or undefined for anything else. */
function arrayElements(value: string): string[] | undefined {
  return /^\{(.*)\}$/s.exec(value)?.[1]!.split(",").map((element) => element.replace(/^"(.*)"$/, "$1"));
}

/**
 * A string literal pgbench passes through untouched: in -M prepared it takes
 * every `:name` in a statement for a variable, quotes or not, so colons
 * (times, JSON) are written as the escape \072.
 */
function stringLiteral(value: string): string {
  const quoted = value.replaceAll("'", "''");
  return value.includes(":") ? `E'${quoted.replaceAll("\\", "\\\\").replaceAll(":", "\\072")}'` : `'${quoted}'`;
}

/**
 * A UUIDv7 that is the same in every statement of one pgbench transaction and
 * new in the next: the transaction's now() in milliseconds, then the random
 * pgbench variable `variable`.
 */
function freshUuidv7(variable: string): string {
  return `(lpad(to_hex((extract(epoch from now()) * 1000)::int8), 12, '0') || '70008' || lpad(to_hex((:${variable})::int8), 15, '0'))::uuid`;
}

/** The variables pgbench substitutes in a statement, found the way pgbench does (`::` is a cast). */
function pgbenchVariables(statement: string): string[] {
  return [...statement.matchAll(/(:+)([A-Za-z0-9_\x80-\uffff]*)/g)].filter(([, colons, name]) => colons!.length === 1 && name).map(([, , name]) => name!);
}

function pgbenchScript(statements: readonly Statement[], seeded: ReadonlyMap<string, string>, typeNames: ReadonlyMap<number, string>): string {
  const substitutions = new Map(seeded);
  const variables = [`\\set n random(${cartRanges.pgbench.first}, ${cartRanges.pgbench.last})`];
  // Any other id in the parameters was minted by the call (the new cart's, the event's).
  for (const value of statements.flatMap((statement) => statement.parameters)) {
    if (typeof value !== "string") continue;
    for (const id of arrayElements(value) ?? [value]) {
      if (!uuidPattern.test(id) || substitutions.has(id)) continue;
      const variable = `minted_${substitutions.size - seeded.size + 1}`;
      variables.push(`\\set ${variable} random(0, ${2n ** 60n - 1n})`);
      substitutions.set(id, freshUuidv7(variable));
    }
  }
  const literal = (value: unknown): string => {
    if (value === null || value === undefined) return "null";
    const text = String(value);
    const substitute = substitutions.get(text);
    if (substitute) return substitute;
    const elements = arrayElements(text);
    if (elements?.some((element) => substitutions.has(element))) {
      return `array[${elements.map((element) => substitutions.get(element) ?? stringLiteral(element)).join(", ")}]`;
    }
    return stringLiteral(text);
  };
  // Typed as the service's parameters were (an untyped literal may resolve to another type); by the type's
  // own name, without a modifier: bpchar, not "character", which would be char(1).
  const typedLiteral = (statement: Statement, index: number): string => {
    const type = typeNames.get(statement.types[index] ?? 0);
    return type ? `${literal(statement.parameters[index])}::${type}` : literal(statement.parameters[index]);
  };
  const lines = [...variables];
  statements.forEach((statement, i) => {
    const pipelined = (other: Statement | undefined) => other?.turn === statement.turn;
    if (!pipelined(statements[i - 1]) && pipelined(statements[i + 1])) lines.push("\\startpipeline");
    const text = statement.text.trim().replace(/\$(\d+)/g, (_, index: string) => typedLiteral(statement, Number(index) - 1));
    const unknown = pgbenchVariables(text).filter((name) => name !== "n" && !name.startsWith("minted_"));
    if (unknown.length > 0) throw new Error(`pgbench would read :${unknown.join(", :")} as variables in: ${text}`);
    lines.push(`${text};`);
    if (pipelined(statements[i - 1]) && !pipelined(statements[i + 1])) lines.push("\\endpipeline");
  });
  return `${lines.join("\n")}\n`;
}

/**
 * The least an add-to-cart transaction does, on a table pair of its own with
 * as many carts and lines as the bench data set: lock the cart, add to a line
 * it has, total the cart. The yardstick for the SQL the service sends.
 */
export async function writeMinimalAddItemScript(databaseUrl: string, workDir: string): Promise<string> {
  const { carts, linesPerCart } = dataset;
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const statements = [
      "drop table if exists bench_minimal_lines, bench_minimal_carts",
      "create table bench_minimal_carts (id int8 primary key, total int8 not null, version int8 not null)",
      `create table bench_minimal_lines (cart_id int8, product_id int8, quantity int8 not null, amount int8 not null,
                                         primary key (cart_id, product_id))`,
      `insert into bench_minimal_lines select n, k, k + 1, 100 + k
         from generate_series(1, ${carts}) n cross join generate_series(1, ${linesPerCart}) k`,
      "insert into bench_minimal_carts select cart_id, sum(quantity * amount), 1 from bench_minimal_lines group by cart_id",
    ];
    for (const statement of statements) await sql.unsafe(statement);
    await sql`vacuum analyze bench_minimal_carts, bench_minimal_lines`;
  } finally {
    await sql.end();
  }
  const file = join(workDir, "minimal-add-item.sql");
  await writeFile(
    file,
    `\\set n random(1, ${carts})
begin;
select total, version from bench_minimal_carts where id = :n for update;
insert into bench_minimal_lines (cart_id, product_id, quantity, amount) values (:n, 1, 1, 100)
  on conflict (cart_id, product_id) do update set quantity = bench_minimal_lines.quantity + excluded.quantity;
update bench_minimal_carts set total = (select sum(quantity * amount) from bench_minimal_lines where cart_id = :n), version = version + 1
  where id = :n;
commit;
`,
  );
  return file;
}

/** Transactions per second of one pgbench script, with the service's pool size in clients. */
export async function runPgbench(pgbench: string, databaseUrl: string, script: string, seconds: number, clients = 10): Promise<number> {
  const args = ["-n", "-M", "prepared", "-c", String(clients), "-j", "2", "-T", String(seconds), "-f", script, databaseUrl];
  const { code, stdout, stderr } = await execute(pgbench, args);
  const tps = /tps = ([\d.]+)/.exec(stdout);
  const failed = /number of failed transactions: (\d+)/.exec(stdout);
  if (code !== 0 || !tps || Number(failed?.[1] ?? 0) > 0) {
    throw new Error(`pgbench ${basename(script)} failed (exit ${code}):\n${stdout}\n${stderr}`);
  }
  return Number(tps[1]);
}
