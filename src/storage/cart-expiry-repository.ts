import type { Sql } from "./database.js";

/**
 * The expiry sweeper's statements, one batch each. Both lock the rows they
 * take with FOR UPDATE SKIP LOCKED, so sweepers of several processes running
 * at once each take different carts, and never wait for a cart that a change
 * (which locks it the same way) or another sweeper holds.
 */
export class CartExpiryRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Marks up to `limit` active carts whose expire_time is at or before `now`
   * as expired, earliest first: one version later, updated at `now`, keeping
   * their expire_time as the moment they expired. Returns their ids.
   */
  async expireDue(now: Date, limit: number): Promise<string[]> {
    const rows = await this.sql<{ id: string }[]>`
      with due as (
        select id from carts
        where status = 'active' and expire_time <= ${now.toISOString()}::timestamptz
        order by expire_time
        limit ${limit}
        for update skip locked
      )
      update carts c set status = 'expired', version = c.version + 1,
        updated_at = ${now.toISOString()}::timestamptz
      from due where c.id = due.id
      returning c.id`;
    return rows.map((row) => row.id);
  }

  /**
   * Deletes up to `limit` carts whose expire_time (the moment they expired)
   * is before `cutoff`, earliest first, with their lines. Returns their ids.
   */
  async deleteExpiredBefore(cutoff: Date, limit: number): Promise<string[]> {
    const rows = await this.sql<{ id: string }[]>`
      with doomed as (
        select id from carts
        where status = 'expired' and expire_time < ${cutoff.toISOString()}::timestamptz
        order by expire_time
        limit ${limit}
        for update skip locked
      )
      delete from carts c using doomed where c.id = doomed.id
      returning c.id`;
    return rows.map((row) => row.id);
  }
}
