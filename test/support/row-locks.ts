import type postgres from "postgres";

export interface HeldLock {
  /** Backends waiting, directly or behind other waiters, on the held lock. */
  waiting(): Promise<number>;
  /** Ends the holding transaction and returns its connection; later calls do nothing. */
  release(): Promise<void>;
}

/**
 * Holds a cart's row lock in a transaction of its own, on a reserved
 * connection of `sql` (which needs a second one for `waiting`), so a test can
 * line up the service's requests behind it and then let them go at once.
 */
export async function holdCartLock(sql: postgres.Sql, cartId: string): Promise<HeldLock> {
  const connection = await sql.reserve();
  const [{ pid: holder }] = await connection<[{ pid: number }]>`select pg_backend_pid() as pid`;
  await connection`begin`;
  await connection`select 1 from carts where id = ${cartId} for update`;
  let released = false;
  return {
    async waiting() {
      const [{ count }] = await sql<[{ count: number }]>`
        with recursive blocked(pid) as (
          select pid from pg_stat_activity where ${holder}::int = any(pg_blocking_pids(pid))
          union
          select activity.pid from pg_stat_activity activity join blocked on blocked.pid = any(pg_blocking_pids(activity.pid))
        )
        select count(*)::int as count from blocked`;
      return count;
    },
    async release() {
      if (released) return;
      released = true;
      await connection`commit`;
      connection.release();
    },
  };
}
