import type { Logger } from "../logger.js";
import type { CartExpiryRepository } from "../storage/cart-expiry-repository.js";

export interface CartExpiryOptions {
  readonly carts: CartExpiryRepository;
  readonly now: () => Date;
  /** Carts per statement, which bounds how many rows one statement locks and how long it runs. */
  readonly batchSize: number;
  readonly log: Logger;
}

/**
 * The passes of the expiry sweeper (see storage/cart-expiry-repository.ts):
 * each works batch by batch until a batch comes back short, so a backlog
 * never becomes one long statement. Several processes may run them at once.
 * A failure ends the pass; batches already done stay done.
 */
export class CartExpiry {
  constructor(private readonly options: CartExpiryOptions) {}

  /** Marks every active cart whose expire_time has come as expired; returns how many. */
  async expireDue(): Promise<number> {
    const { carts, now, log } = this.options;
    const at = now();
    const count = await this.inBatches((limit) => carts.expireDue(at, limit));
    if (count > 0) log.info("carts expired", { count });
    return count;
  }

  /** Deletes the carts that expired more than `retentionMs` ago, with their lines; returns how many. */
  async deleteExpiredLongerThan(retentionMs: number): Promise<number> {
    const { carts, now, log } = this.options;
    const cutoff = new Date(now().getTime() - retentionMs);
    const count = await this.inBatches((limit) => carts.deleteExpiredBefore(cutoff, limit));
    if (count > 0) log.info("long-expired carts deleted", { count, expiredBefore: cutoff.toISOString() });
    return count;
  }

  private async inBatches(batch: (limit: number) => Promise<readonly string[]>): Promise<number> {
    const { batchSize } = this.options;
    let total = 0;
    for (;;) {
      const { length } = await batch(batchSize);
      total += length;
      if (length < batchSize) return total;
    }
  }
}
