import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { runMigrations } from "../../src/storage/database.js";
import { startEmbeddedPostgres } from "../../src/storage/embedded-postgres.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** A fresh, migrated database for this test run. */
    databaseUrl: string;
  }
}

/**
 * Gives the run its own fresh database: on the server named by
 * TEST_DATABASE_URL when set, otherwise on an embedded PostgreSQL started for
 * the run. The database is dropped afterwards.
 */
export default async function setup(project: TestProject) {
  let serverUrl = process.env.TEST_DATABASE_URL;
  let embeddedDir: string | undefined;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!serverUrl) {
    embeddedDir = await mkdtemp(path.join(os.tmpdir(), "cart-test-pg-"));
    // As root the server runs as a separate postgres user, which must reach the directory.
    await chmod(embeddedDir, 0o755);
    const embedded = await startEmbeddedPostgres({
      dataDir: path.join(embeddedDir, "data"),
      database: "postgres",
      persistent: false,
    });
    serverUrl = embedded.url;
    stopEmbedded = embedded.stop;
  }
  const name = `cart_test_${randomBytes(4).toString("hex")}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  await runMigrations(url.toString());
  project.provide("databaseUrl", url.toString());

  return async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
    await stopEmbedded?.();
    if (embeddedDir) await rm(embeddedDir, { recursive: true, force: true });
  };
}
