import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type KeyChannelChoice,
  type KeyResolution,
  type PublishableKey,
  publishableKeyTokenPattern,
  resolution,
  revokeKey,
  salesChannelForNewCart,
} from "../domain/publishable-key.js";
import type { PublishableKeyRepository } from "../storage/publishable-key-repository.js";
import type { PublishableKeyService } from "../../gen/commerce/cart/v1/publishable_key_service_pb.js";
import { toPublishableKeyMessage } from "./mapping.js";
import { decodePageToken, effectivePageSize, toPage, uuidKeyPattern } from "./page-token.js";

export interface PublishableKeyDeps {
  readonly keys: PublishableKeyRepository;
  readonly now: () => Date;
  readonly newId: () => string;
  readonly newToken: () => string;
}

/**
 * What a token a storefront sent stands for: for the storefront surface,
 * which checks the key before anything else. A token that cannot be one the
 * service issued is unknown without a database read.
 */
export class PublishableKeyDirectory {
  constructor(private readonly deps: Pick<PublishableKeyDeps, "keys" | "now">) {}

  async resolve(token: string): Promise<KeyResolution> {
    if (!publishableKeyTokenPattern.test(token)) return { status: "unknown" };
    return resolution(await this.deps.keys.byToken(token), this.deps.now());
  }

  /** The sales channel of a cart created with `key` when `requested` ("" for none) is asked for (see salesChannelForNewCart). */
  salesChannelForNewCart(key: Pick<PublishableKey, "salesChannelIds">, requested: string): KeyChannelChoice {
    return salesChannelForNewCart(key, requested);
  }
}

function notFound(id: string): ConnectError {
  return new ConnectError(`publishable key ${id} does not exist`, Code.NotFound);
}

/** Issues, reads and revokes publishable keys (back office, catalog:write). */
export function createPublishableKeyService({ keys, now, newId, newToken }: PublishableKeyDeps): ServiceImpl<typeof PublishableKeyService> {
  return {
    async createPublishableKey(request) {
      const { title, salesChannelIds } = request.publishableKey!;
      const key = await keys.insert({ id: newId(), token: newToken(), title, salesChannelIds, createdAt: now() });
      return { publishableKey: toPublishableKeyMessage(key) };
    },

    async getPublishableKey(request) {
      const key = await keys.get(request.id);
      if (!key) throw notFound(request.id);
      return { publishableKey: toPublishableKeyMessage(key) };
    },

    async listPublishableKeys(request) {
      const filters = ["publishable_keys"];
      const limit = effectivePageSize(request.pageSize);
      const rows = await keys.list(decodePageToken(request.pageToken, filters, uuidKeyPattern), limit + 1);
      const { items, nextPageToken } = toPage(rows, limit, (key) => key.id, filters);
      return { publishableKeys: items.map(toPublishableKeyMessage), nextPageToken };
    },

    async revokePublishableKey(request) {
      const key = await keys.update(request.id, (found) => revokeKey(found, now()));
      if (!key) throw notFound(request.id);
      return { publishableKey: toPublishableKeyMessage(key) };
    },
  };
}
