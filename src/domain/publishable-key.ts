/**
 * Publishable keys: public tokens a storefront sends to say which shop it is.
 * A key grants nothing by itself; it names the sales channels new carts made
 * with it may sell through.
 */
export interface PublishableKey {
  readonly id: string;
  /** "pk_" and 64 hex digits. */
  readonly token: string;
  readonly title: string;
  readonly salesChannelIds: readonly string[];
  readonly createdAt: Date;
  /** Set once revoked; a revoked key is refused. */
  readonly revokedAt?: Date;
}

/** The shape of every token the service issues; anything else is unknown without a lookup. */
export const publishableKeyTokenPattern = /^pk_[0-9a-f]{64}$/;

/** What a token names: a key that may be used, a revoked one, or none. */
export type KeyResolution =
  | { readonly status: "valid"; readonly key: PublishableKey }
  | { readonly status: "revoked"; readonly key: PublishableKey }
  | { readonly status: "unknown" };

export function resolution(key: PublishableKey | undefined, now: Date): KeyResolution {
  if (!key) return { status: "unknown" };
  return key.revokedAt && key.revokedAt <= now ? { status: "revoked", key } : { status: "valid", key };
}

/** The key revoked at `now`; a revoked key stays as it is, so a retry changes nothing. */
export function revokeKey(key: PublishableKey, now: Date): PublishableKey {
  return key.revokedAt ? key : { ...key, revokedAt: now };
}

/** The sales channel a new cart made with the key gets, or why the request cannot have it. */
export type KeyChannelChoice =
  | { readonly salesChannelId: string }
  | { readonly refusal: "not_in_key" | "ambiguous"; readonly message: string };

/**
 * The sales channel of a cart created with `key` when the caller asked for
 * `requested` ("" for none): a key with channels allows only those, and picks
 * its only one when none is asked for; with several, one must be asked for.
 * A key without channels allows any ("" leaves the default channel).
 */
export function salesChannelForNewCart(key: Pick<PublishableKey, "salesChannelIds">, requested: string): KeyChannelChoice {
  const channels = key.salesChannelIds;
  if (requested !== "") {
    return channels.length === 0 || channels.includes(requested)
      ? { salesChannelId: requested }
      : { refusal: "not_in_key", message: `sales channel ${requested} is not one of the publishable key's sales channels` };
  }
  if (channels.length === 1) return { salesChannelId: channels[0]! };
  if (channels.length > 1) {
    return {
      refusal: "ambiguous",
      message: `the publishable key has several sales channels (${channels.join(", ")}); name one of them`,
    };
  }
  return { salesChannelId: "" };
}
