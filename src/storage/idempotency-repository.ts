import type { Sql } from "./database.js";

/** Who sent which key to which method: keys never collide across principals or methods. */
export interface IdempotencyScope {
  readonly principal: string;
  readonly method: string;
  readonly key: string;
}

export type Claim =
  | { readonly kind: "claimed" } // first use: execute, then complete() or release()
  | { readonly kind: "replay"; readonly response: Buffer } // done before: answer with this
  | { readonly kind: "running" } // the first execution has not finished
  | { readonly kind: "mismatch" }; // the key was used with a different request

export interface IdempotencyTimes {
  /** How long a finished record is kept and replayed. */
  readonly retentionMs: number;
  /** After this long a record still marked running is presumed abandoned (its process died) and may be claimed again. */
  readonly leaseMs: number;
}

export class IdempotencyRepository {
  constructor(
    private readonly sql: Sql,
    private readonly times: IdempotencyTimes,
  ) {}

  /** Claims the key for this request, or says why not; one statement. */
  async claim(scope: IdempotencyScope, requestHash: string, now: Date): Promise<Claim> {
    const expiredBefore = new Date(now.getTime() - this.times.retentionMs).toISOString();
    const abandonedBefore = new Date(now.getTime() - this.times.leaseMs).toISOString();
    const [row] = await this.sql<{ claimed: boolean | null; request_hash: string | null; response: Buffer | null }[]>`
      with claimed as (
        insert into idempotency_records (principal, method, key, request_hash, response, created_at)
        values (${scope.principal}, ${scope.method}, ${scope.key}, ${requestHash}, null, ${now.toISOString()})
        on conflict (principal, method, key) do update
          set request_hash = excluded.request_hash, response = null, created_at = excluded.created_at
          where idempotency_records.created_at < ${expiredBefore}::timestamptz
             or (idempotency_records.response is null and idempotency_records.created_at < ${abandonedBefore}::timestamptz)
        returning true as claimed
      )
      select (select claimed from claimed) as claimed, r.request_hash, r.response
      from (select 1) as one
      left join idempotency_records r on r.principal = ${scope.principal} and r.method = ${scope.method} and r.key = ${scope.key}`;
    if (row?.claimed) return { kind: "claimed" };
    // A first execution that started in this same instant may not be visible yet: treat it as running.
    if (!row?.request_hash) return { kind: "running" };
    if (row.request_hash !== requestHash) return { kind: "mismatch" };
    return row.response ? { kind: "replay", response: row.response } : { kind: "running" };
  }

  async complete(scope: IdempotencyScope, response: Uint8Array): Promise<void> {
    await this.sql`
      update idempotency_records set response = ${Buffer.from(response)}
      where principal = ${scope.principal} and method = ${scope.method} and key = ${scope.key}`;
  }

  /** Forgets a claim whose execution failed, so a retry executes again. */
  async release(scope: IdempotencyScope): Promise<void> {
    await this.sql`
      delete from idempotency_records
      where principal = ${scope.principal} and method = ${scope.method} and key = ${scope.key} and response is null`;
  }

  /**
   * Deletes expired records in batches of `batch` rows, so the sweep never
   * holds many locks or one long transaction; returns how many went.
   */
  async deleteExpired(now: Date, batch = 1000): Promise<number> {
    const expiredBefore = new Date(now.getTime() - this.times.retentionMs).toISOString();
    let deleted = 0;
    for (;;) {
      const { count } = await this.sql`
        delete from idempotency_records where ctid in (
          select ctid from idempotency_records where created_at < ${expiredBefore}::timestamptz limit ${batch})`;
      deleted += count;
      if (count < batch) return deleted;
    }
  }
}
