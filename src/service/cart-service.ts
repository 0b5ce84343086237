import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  addLineItem,
  type Cart,
  checkEtag,
  type CartFieldChanges,
  type CartLimits,
  createCart,
  deleteCart,
  type ItemToAdd,
  removeLineItem,
  updateCartFields,
  updateLineItem,
} from "../domain/cart.js";
import type { CartRepository } from "../storage/cart-repository.js";
import type { CatalogRepository } from "../storage/catalog-repository.js";
import type { Tx } from "../storage/database.js";
import type { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import type { Cart as CartMessage } from "../../gen/commerce/cart/v1/cart_pb.js";
import { CartAccess } from "./access.js";
import { cartStatusFromProto, toCartMessage } from "./mapping.js";
import { decodePageToken, effectivePageSize, toPage } from "./page-token.js";
import { principalOf } from "./principal.js";

export interface CartServiceDeps {
  readonly carts: CartRepository;
  readonly catalog: CatalogRepository;
  readonly defaultCurrency: string;
  readonly limits: CartLimits;
  readonly now: () => Date;
  readonly newId: () => string;
}

/** The etag of an HTTP If-Match header (`"7"`, `W/"7"` or `7`); "" when absent. */
function etagFromIfMatch(header: string | null): string {
  return header?.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1") ?? "";
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Fields UpdateCart may change, by update_mask path. */
const updatableFields: Record<string, (cart: CartMessage) => CartFieldChanges> = {
  currency: (cart) => ({ currency: cart.currency }),
  email: (cart) => ({ email: cart.email }),
  metadata: (cart) => ({ metadata: cart.metadata }),
};

export function createCartService(deps: CartServiceDeps): ServiceImpl<typeof CartService> {
  const { carts, catalog, limits, now, newId } = deps;

  /** Looks the products up in the catalog and pairs each item with its offer and a fresh line id. */
  async function itemsToAdd(
    items: readonly { productId: string; quantity: number }[],
    currency: string,
    tx?: Tx,
  ): Promise<ItemToAdd[]> {
    if (items.length === 0) return [];
    const offers = await catalog.offers([...new Set(items.map((item) => item.productId))], currency, tx);
    return items.map((item) => ({ ...item, offer: offers.get(item.productId), newLineId: newId() }));
  }

  /**
   * Applies a domain change to a locked cart the caller may access, provided
   * it is still at the etag the caller based the change on, and answers with
   * the result.
   */
  async function change(
    id: string,
    etag: string,
    context: HandlerContext,
    apply: (cart: Cart, tx: Tx) => Promise<Cart> | Cart,
  ) {
    const access = new CartAccess(principalOf(context));
    const expectedEtag = etag || etagFromIfMatch(context.requestHeader.get("if-match"));
    const cart = await carts.update(id, (locked, tx) => {
      const visible = access.visible(id, locked);
      checkEtag(visible, expectedEtag);
      return apply(visible, tx);
    });
    return { cart: toCartMessage(access.visible(id, cart)) };
  }

  return {
    async createCart(request, context) {
      new CartAccess(principalOf(context)).checkOwner(request.customerId);
      const currency = request.currency || deps.defaultCurrency;
      const cart = createCart(
        { id: newId(), customerId: request.customerId, currency, email: request.email, metadata: request.metadata },
        await itemsToAdd(request.items, currency),
        now(),
        limits,
      );
      await carts.insert(cart);
      return { cart: toCartMessage(cart) };
    },

    async getCart(request, context) {
      const cart = new CartAccess(principalOf(context)).visible(request.id, await carts.get(request.id));
      return { cart: toCartMessage(cart) };
    },

    async listCarts(request, context) {
      const customerId = new CartAccess(principalOf(context)).listFilter(request.customerId);
      const status = cartStatusFromProto(request.status);
      const filters = [customerId, request.status];
      const limit = effectivePageSize(request.pageSize);
      const page = await carts.list({
        customerId,
        status,
        beforeId: decodePageToken(request.pageToken, filters, uuidPattern),
        limit: limit + 1,
      });
      const { items, nextPageToken } = toPage(page, limit, (cart) => cart.id, filters);
      return { carts: items.map(toCartMessage), nextPageToken };
    },

    async updateCart(request, context) {
      const message = request.cart!;
      const changes: CartFieldChanges = {};
      for (const path of request.updateMask!.paths) {
        const field = updatableFields[path];
        if (!field) {
          throw new ConnectError(
            `update_mask path "${path}" cannot be updated; updatable fields: ${Object.keys(updatableFields).join(", ")}`,
            Code.InvalidArgument,
          );
        }
        Object.assign(changes, field(message));
      }
      return change(message.id, message.etag, context, (cart) => updateCartFields(cart, changes, now()));
    },

    async deleteCart(request, context) {
      return change(request.id, request.etag, context, (cart) => deleteCart(cart, now()));
    },

    async addLineItem(request, context) {
      return change(request.cartId, request.etag, context, async (cart, tx) => {
        const [item] = await itemsToAdd([request], cart.currency, tx);
        return addLineItem(cart, item!, now(), limits);
      });
    },

    async updateLineItem(request, context) {
      return change(request.cartId, request.etag, context, (cart) => updateLineItem(cart, request.itemId, request.quantity, now(), limits));
    },

    async removeLineItem(request, context) {
      return change(request.cartId, request.etag, context, (cart) => removeLineItem(cart, request.itemId, now()));
    },
  };
}
