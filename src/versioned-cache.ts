/** How much a VersionedCache holds: entries, and their total size in the cache's own unit. */
export interface VersionedCacheBounds {
  readonly entries: number;
  readonly size: number;
}

/**
 * Values of versioned things (carts) by id, each at the version it shows,
 * for callers that ask the database whether the thing is still at that
 * version instead of reading it whole. A holder of a value never trusts it
 * without that check.
 * Bounded in entries and in total size (`sizeOf`); the least recently used
 * goes first, and a value larger than the whole bound is not held. Values
 * are shared with every later caller and must never change.
 */
export class VersionedCache<T> {
  private readonly entries = new Map<string, { readonly version: number; readonly value: T; readonly size: number }>();
  private size = 0;

  constructor(
    private readonly bounds: VersionedCacheBounds,
    private readonly sizeOf: (value: T) => number,
  ) {}

  /** What is held of `id`: a value and the version it is of. */
  get(id: string): { readonly version: number; readonly value: T } | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry;
  }

  /**
   * Holds `value`, what `id` is at `version`, in place of what was held, even
   * a newer version: the database decides, so the value last read or written
   * is the better guess, and a wrong one costs only a whole read.
   */
  hold(id: string, version: number, value: T): void {
    this.drop(id);
    const size = this.sizeOf(value);
    if (size > this.bounds.size) return;
    this.entries.set(id, { version, value, size });
    this.size += size;
    while (this.entries.size > this.bounds.entries || this.size > this.bounds.size) this.drop(this.entries.keys().next().value!);
  }

  private drop(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.size -= entry.size;
  }
}
