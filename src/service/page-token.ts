import { createHash } from "node:crypto";
import { invalidField } from "./errors.js";

/**
 * AIP-158 page tokens: opaque to clients, they carry the keyset position and
 * a fingerprint of the filters, so a token cannot be replayed with other
 * filters. Base64url of JSON; nothing secret is inside.
 */

interface TokenBody {
  /** Keyset position: the last key of the previous page. */
  k: string;
  /** Fingerprint of the request's filters. */
  f: string;
}

function fingerprint(filters: readonly unknown[]): string {
  return createHash("sha256").update(JSON.stringify(filters)).digest("base64url").slice(0, 16);
}

function encodePageToken(lastKey: string, filters: readonly unknown[]): string {
  const body: TokenBody = { k: lastKey, f: fingerprint(filters) };
  return Buffer.from(JSON.stringify(body)).toString("base64url");
}

/** Keys of lists ordered by UUIDv7 id (carts, orders). */
export const uuidKeyPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The keyset position in `token`, or undefined for the first page. */
export function decodePageToken(token: string, filters: readonly unknown[], keyPattern: RegExp): string | undefined {
  if (token === "") return undefined;
  let body: Partial<TokenBody> | undefined;
  try {
    body = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Partial<TokenBody>;
  } catch {
    body = undefined;
  }
  if (typeof body?.k !== "string" || typeof body.f !== "string" || !keyPattern.test(body.k)) {
    throw invalidField("page_token", "page_token.valid", "must be the next_page_token of the previous response, unchanged");
  }
  if (body.f !== fingerprint(filters)) {
    throw invalidField("page_token", "page_token.same_filters", "was issued for different filters; repeat the first request's filters");
  }
  return body.k;
}

/** page_size 0 means the default; larger than the maximum means the maximum (AIP-158). */
export function effectivePageSize(requested: number, defaultSize = 50, maxSize = 200): number {
  return requested === 0 ? defaultSize : Math.min(requested, maxSize);
}

/**
 * Cuts one page out of `rows`, which were fetched with limit + 1 so that the
 * extra row tells whether another page follows.
 */
export function toPage<T>(
  rows: readonly T[],
  limit: number,
  keyOf: (row: T) => string,
  filters: readonly unknown[],
): { items: T[]; nextPageToken: string } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items,
    nextPageToken: rows.length > limit && last !== undefined ? encodePageToken(keyOf(last), filters) : "",
  };
}
