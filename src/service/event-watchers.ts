import { Code, ConnectError } from "@connectrpc/connect";
import type { CartEventNotice } from "../storage/cart-event-notifications.js";

/** A watch's wake-ups: many notifications before it looks again count as one (it reads the latest state). */
export interface Subscription {
  /**
   * Resolves true once something the watch follows committed since the last
   * call (or after `pollMs`, when given), false when the call ended or the
   * watchers were closed (the server drains): the watch should end then.
   */
  next(signal: AbortSignal, pollMs?: number): Promise<boolean>;
  close(): void;
}

class Watch implements Subscription {
  private pending = false;
  private wake: ((more: boolean) => void) | undefined;
  closed = false;

  constructor(private readonly unregister: (watch: Watch) => void) {}

  notify(): void {
    if (this.wake) this.wake(true);
    else this.pending = true;
  }

  end(): void {
    this.closed = true;
    this.wake?.(false);
  }

  async next(signal: AbortSignal, pollMs?: number): Promise<boolean> {
    if (this.closed || signal.aborted) return false;
    if (this.pending) {
      this.pending = false;
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => this.wake?.(false);
    try {
      return await new Promise<boolean>((resolve) => {
        this.wake = resolve;
        signal.addEventListener("abort", onAbort, { once: true });
        if (pollMs !== undefined) timer = setTimeout(() => resolve(true), pollMs);
      });
    } finally {
      this.wake = undefined;
      this.pending = false;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  }

  close(): void {
    this.unregister(this);
  }
}

/**
 * The WatchCart and WatchEvents streams of this process, woken by the
 * notifications of committed cart events (which carry ids and versions
 * only; each watch reads what it sends). At most `maxWatchers` at once:
 * beyond, a new watch is refused with RESOURCE_EXHAUSTED. Each watch holds
 * at most one pending wake-up, so a slow reader costs no memory however
 * many changes it misses meanwhile.
 */
export class EventWatchers {
  private readonly byCart = new Map<string, Set<Watch>>();
  private readonly feeds = new Set<Watch>();
  private count = 0;
  private closed = false;

  constructor(private readonly maxWatchers: number) {}

  /** Follows one cart's changes, or (without a cart id) every cart event. */
  subscribe(cartId?: string): Subscription {
    if (this.count >= this.maxWatchers) {
      throw new ConnectError(`this server already serves ${this.maxWatchers} watches (EVENTS_MAX_WATCHERS); try again later`, Code.ResourceExhausted);
    }
    const watch = new Watch((ended) => {
      const set = cartId === undefined ? this.feeds : this.byCart.get(cartId);
      if (!set?.delete(ended)) return;
      this.count--;
      if (cartId !== undefined && set.size === 0) this.byCart.delete(cartId);
    });
    if (this.closed) watch.end();
    const set = cartId === undefined ? this.feeds : this.byCart.get(cartId) ?? new Set<Watch>();
    if (cartId !== undefined) this.byCart.set(cartId, set);
    set.add(watch);
    this.count++;
    return watch;
  }

  /** A cart event committed. */
  notice(notice: CartEventNotice): void {
    for (const watch of this.byCart.get(notice.cartId) ?? []) watch.notify();
    for (const watch of this.feeds) watch.notify();
  }

  /** Notifications may have been lost (listening restarted): every watch looks again. */
  wakeAll(): void {
    for (const set of this.byCart.values()) for (const watch of set) watch.notify();
    for (const watch of this.feeds) watch.notify();
  }

  /** Ends every watch, now and to come: the server drains. */
  close(): void {
    this.closed = true;
    for (const set of this.byCart.values()) for (const watch of set) watch.end();
    for (const watch of this.feeds) watch.end();
  }
}
