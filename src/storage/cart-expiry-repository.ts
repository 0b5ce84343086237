import { expireCart } from "../domain/cart.js";
import type { CartRepository } from "./cart-repository.js";
import type { Sql } from "./database.js";

/**
 * The expiry sweeper's statements, one batch each. Both lock the rows they
 * take with FOR UPDATE SKIP LOCKED, so sweepers of several processes running
 * at once each take different carts, and never wait for a cart that a change
 * (which locks it the same way) or another sweeper holds.
 */
export class CartExpiryRepository {
  constructor(
    private readonly sql: Sql,
    private readonly carts: CartRepository,
  ) {}

  /**
   * Marks up to `limit` active carts whose expire_time is at or before `now`
   * as expired, earliest first (see expireCart), through CartRepository so
   * that each gets its cart.expired event. A cart changed meanwhile is
   * checked again under its lock. Returns their ids.
   */
  async expireDue(now: Date, limit: number): Promise<string[]> {
    const due = await this.sql<{ id: string }[]>`
      select id from carts
      where status = 'active' and expire_time <= ${now.toISOString()}::timestamptz
      order by expire_time
      limit ${limit}`;
    if (due.length === 0) return [];
    const { carts } = await this.carts.updateEach(
      due.map((row) => row.id),
      (locked) => ({
        carts: locked.flatMap((held) => {
          const expired = held && expireCart(held.cart, now);
          return expired && expired !== held.cart ? [expired] : [];
        }),
      }),
      undefined,
      { skipLocked: true },
    );
    return carts.map((cart) => cart.id);
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
