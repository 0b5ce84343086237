import type { Cart } from "../../gen/commerce/cart/v1/cart_pb.js";
import { CartSchema } from "../../gen/commerce/cart/v1/cart_pb.js";
import { encodeOnce } from "./encoded-messages.js";

/** How much a CartMessageCache holds: carts, and bytes of their encoded messages. */
export interface CartMessageCacheBounds {
  readonly carts: number;
  /** Held messages take about ten times their encoded size in memory (6.8 KiB for a 680-byte cart of three lines). */
  readonly encodedBytes: number;
}

/**
 * The whole Cart messages this process last answered, by cart id, each with
 * the version it shows: GetCart of a cart still at that version reads only
 * its summary columns and answers the held message, skipping the reading,
 * mapping and encoding of its lines and amounts. The version is compared in
 * the read statement itself, so a change made anywhere (another process
 * included) is never answered stale. Bounded in carts and in encoded bytes;
 * the least recently used goes first. Held messages are shared between
 * answers and must not be changed (their encoding is remembered, see
 * encoded-messages.ts).
 */
export class CartMessageCache {
  private readonly entries = new Map<string, { readonly version: number; readonly message: Cart; readonly size: number }>();
  private encodedBytes = 0;

  constructor(private readonly bounds: CartMessageCacheBounds) {}

  /** The version of the cart whose message is held, if one is. */
  heldVersion(cartId: string): number | undefined {
    return this.entries.get(cartId)?.version;
  }

  /** The held message of the cart at `version`, if it is still held. */
  get(cartId: string, version: number): Cart | undefined {
    const entry = this.entries.get(cartId);
    if (entry?.version !== version) return undefined;
    this.entries.delete(cartId);
    this.entries.set(cartId, entry);
    return entry.message;
  }

  /** Holds `message`, the whole message of the cart at `version`, in place of an older one. */
  hold(cartId: string, version: number, message: Cart): void {
    const held = this.entries.get(cartId);
    if (held && held.version > version) return;
    this.drop(cartId);
    const size = encodeOnce(CartSchema, message).byteLength;
    if (size > this.bounds.encodedBytes) return;
    this.entries.set(cartId, { version, message, size });
    this.encodedBytes += size;
    while (this.entries.size > this.bounds.carts || this.encodedBytes > this.bounds.encodedBytes) {
      this.drop(this.entries.keys().next().value!);
    }
  }

  private drop(cartId: string): void {
    const entry = this.entries.get(cartId);
    if (!entry) return;
    this.entries.delete(cartId);
    this.encodedBytes -= entry.size;
  }
}
