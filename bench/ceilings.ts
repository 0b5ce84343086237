import { writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { create, isMessage } from "@bufbuild/protobuf";
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
import { CreateCartResponseSchema } from "../gen/commerce/cart/v1/cart_service_pb.js";

/** The seeded cart whose recorded statements become the pgbench template. */
const templateCart = cartRanges.pgbench.first;

interface Statement {
  readonly text: string;
  readonly parameters: readonly unknown[];
  /** Statements of one event-loop turn went out in one write, pipelined; pgbench replays them the same way. */
  readonly turn: number;
}

/**
 * Runs each operation once through the service's own code (interceptors,
 * service, repositories) on a client that records every statement it sends,
 * and turns the recording into a pgbench script: parameters become literals,
 * except the template cart's ids, which become expressions of a random cart
 * number. So the ceiling is exactly the SQL the service runs, and follows it
 * when the repositories change.
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
    debug: (_connection, text, parameters) => {
      recorded.push({ text, parameters, turn });
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
  const scripts = {} as Record<Operation, string>;
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
      const { message } = await invoke();
      const substitutions = new Map<string, string>([
        [cartId(n), sqlExpressions.cartId(":n")],
        ...Array.from({ length: dataset.linesPerCart }, (_, k): [string, string][] => [
          [lineId(n, k), sqlExpressions.lineId(":n", k)],
          [productOfLine(n, k), sqlExpressions.productOfLine(":n", k)],
        ]).flat(),
      ]);
      // A new cart gets a fresh id in every transaction.
      if (isMessage(message, CreateCartResponseSchema)) substitutions.set(message.cart!.id, "gen_random_uuid()");
      const file = join(workDir, `${operation}.sql`);
      await writeFile(file, pgbenchScript(recorded, substitutions));
      scripts[operation] = file;
    }
  } finally {
    await sql.end();
  }
  return scripts;
}

function pgbenchScript(statements: readonly Statement[], substitutions: ReadonlyMap<string, string>): string {
  const literal = (value: unknown): string => {
    if (value === null || value === undefined) return "null";
    if (typeof value !== "string") return `'${String(value).replaceAll("'", "''")}'`;
    const substitute = substitutions.get(value);
    if (substitute) return substitute;
    // postgres.js hands arrays over serialized ('{"a","b"}'); rebuild those holding an id as array[...].
    const elements = /^\{(.*)\}$/s.exec(value)?.[1]!.split(",").map((element) => element.replace(/^"(.*)"$/, "$1"));
    if (elements?.some((element) => substitutions.has(element))) {
      return `array[${elements.map((element) => substitutions.get(element) ?? literal(element)).join(", ")}]`;
    }
    return `'${value.replaceAll("'", "''")}'`;
  };
  const lines = [`\\set n random(${cartRanges.pgbench.first}, ${cartRanges.pgbench.last})`];
  statements.forEach(({ text, parameters, turn }, i) => {
    const pipelined = (other: Statement | undefined) => other?.turn === turn;
    if (!pipelined(statements[i - 1]) && pipelined(statements[i + 1])) lines.push("\\startpipeline");
    lines.push(`${text.trim().replace(/\$(\d+)/g, (_, index: string) => literal(parameters[Number(index) - 1]))};`);
    if (pipelined(statements[i - 1]) && !pipelined(statements[i + 1])) lines.push("\\endpipeline");
  });
  return `${lines.join("\n")}\n`;
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
