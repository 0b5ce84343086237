import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  addLineItem,
  type Cart,
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
import { cartNotFound } from "./errors.js";
import { cartStatusFromProto, toCartMessage } from "./mapping.js";
import { decodePageToken, effectivePageSize, toPage } from "./page-token.js";

export interface CartServiceDeps {
  readonly carts: CartRepository;
  readonly catalog: CatalogRepository;
  readonly defaultCurrency: string;
  readonly limits: CartLimits;
  readonly now: () => Date;
  readonly newId: () => string;
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

  /** Applies a domain change to a locked cart and answers with the result. */
  async function change(id: string, apply: (cart: Cart, tx: Tx) => Promise<Cart> | Cart) {
    const cart = await carts.update(id, apply);
    if (!cart) throw cartNotFound(id);
    return { cart: toCartMessage(cart) };
  }

  return {
    async createCart(request) {
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

    async getCart(request) {
      const cart = await carts.get(request.id);
      if (!cart) throw cartNotFound(request.id);
      return { cart: toCartMessage(cart) };
    },

    async listCarts(request) {
      const status = cartStatusFromProto(request.status);
      const filters = [request.customerId, request.status];
      const limit = effectivePageSize(request.pageSize);
      const page = await carts.list({
        customerId: request.customerId || undefined,
        status,
        beforeId: decodePageToken(request.pageToken, filters, uuidPattern),
        limit: limit + 1,
      });
      const { items, nextPageToken } = toPage(page, limit, (cart) => cart.id, filters);
      return { carts: items.map(toCartMessage), nextPageToken };
    },

    async updateCart(request) {
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
      return change(message.id, (cart) => updateCartFields(cart, changes, now()));
    },

    async deleteCart(request) {
      return change(request.id, (cart) => deleteCart(cart, now()));
    },

    async addLineItem(request) {
      return change(request.cartId, async (cart, tx) => {
        const [item] = await itemsToAdd([request], cart.currency, tx);
        return addLineItem(cart, item!, now(), limits);
      });
    },

    async updateLineItem(request) {
      return change(request.cartId, (cart) => updateLineItem(cart, request.itemId, request.quantity, now(), limits));
    },

    async removeLineItem(request) {
      return change(request.cartId, (cart) => removeLineItem(cart, request.itemId, now()));
    },
  };
}
