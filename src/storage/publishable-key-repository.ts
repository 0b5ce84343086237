import { DomainError } from "../domain/errors.js";
import type { PublishableKey } from "../domain/publishable-key.js";
import type { Sql, Tx } from "./database.js";

interface PublishableKeyRow {
  id: string;
  token: string;
  title: string;
  sales_channel_ids: string[];
  created_at: string;
  revoked_at: string | null;
}

function fromRow(row: PublishableKeyRow): PublishableKey {
  return {
    id: row.id,
    token: row.token,
    title: row.title,
    salesChannelIds: row.sales_channel_ids,
    createdAt: new Date(row.created_at),
    ...(row.revoked_at !== null && { revokedAt: new Date(row.revoked_at) }),
  };
}

const columns = (sql: Sql | Tx) => sql`id, token, title, sales_channel_ids, created_at, revoked_at`;

/** Publishable keys, found by id or by token. */
export class PublishableKeyRepository {
  constructor(private readonly sql: Sql) {}

  /** Stores a new key; the sales channels it names must exist. */
  async insert(key: PublishableKey): Promise<PublishableKey> {
    return this.sql.begin(async (tx) => {
      if (key.salesChannelIds.length > 0) {
        // Shared locks keep the channels from being removed before the key is stored.
        const found = await tx<{ id: string }[]>`
          select id from sales_channels where id = any(${key.salesChannelIds as string[]}::text[]) for share`;
        const missing = key.salesChannelIds.find((id) => !found.some((row) => row.id === id));
        if (missing !== undefined) throw new DomainError("failed_precondition", `sales channel ${missing} does not exist; create it first`);
      }
      const [row] = await tx<PublishableKeyRow[]>`
        insert into publishable_keys (id, token, title, sales_channel_ids, created_at)
        values (${key.id}, ${key.token}, ${key.title}, ${key.salesChannelIds as string[]}::text[], ${key.createdAt.toISOString()})
        returning ${columns(tx)}`;
      return fromRow(row!);
    }) as Promise<PublishableKey>;
  }

  /** Creates the key unless one with its id exists (whatever that one looks like). */
  async ensure(key: PublishableKey): Promise<void> {
    await this.sql`
      insert into publishable_keys (id, token, title, sales_channel_ids, created_at)
      values (${key.id}, ${key.token}, ${key.title}, ${key.salesChannelIds as string[]}::text[], ${key.createdAt.toISOString()})
      on conflict do nothing`;
  }

  async get(id: string): Promise<PublishableKey | undefined> {
    const [row] = await this.sql<PublishableKeyRow[]>`select ${columns(this.sql)} from publishable_keys where id = ${id}`;
    return row && fromRow(row);
  }

  async byToken(token: string): Promise<PublishableKey | undefined> {
    const [row] = await this.sql<PublishableKeyRow[]>`select ${columns(this.sql)} from publishable_keys where token = ${token}`;
    return row && fromRow(row);
  }

  /** Keys newest first, older than `beforeId` when given. */
  async list(beforeId: string | undefined, limit: number): Promise<PublishableKey[]> {
    const rows = await this.sql<PublishableKeyRow[]>`
      select ${columns(this.sql)} from publishable_keys
      where ${beforeId ?? null}::uuid is null or id < ${beforeId ?? null}::uuid
      order by id desc limit ${limit}`;
    return rows.map(fromRow);
  }

  /** Applies `change` to the locked key and stores what it returns; undefined when the key does not exist. */
  async update(id: string, change: (key: PublishableKey) => PublishableKey): Promise<PublishableKey | undefined> {
    return this.sql.begin(async (tx) => {
      const [row] = await tx<PublishableKeyRow[]>`select ${columns(tx)} from publishable_keys where id = ${id} for update`;
      if (!row) return undefined;
      const before = fromRow(row);
      const after = change(before);
      if (after === before) return before;
      const [stored] = await tx<PublishableKeyRow[]>`
        update publishable_keys set revoked_at = ${after.revokedAt?.toISOString() ?? null}
        where id = ${id} returning ${columns(tx)}`;
      return fromRow(stored!);
    }) as Promise<PublishableKey | undefined>;
  }
}
