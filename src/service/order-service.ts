import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { OrderRepository } from "../storage/order-repository.js";
import type { OrderService } from "../../gen/commerce/cart/v1/order_service_pb.js";
import { isGuestCart } from "../domain/cart.js";
import { toOrderMessage } from "./mapping.js";
import { decodePageToken, effectivePageSize, toPage, uuidKeyPattern } from "./page-token.js";
import { principalOf } from "./principal.js";

export interface OrderServiceDeps {
  readonly orders: OrderRepository;
}

/** Reads of the orders CompleteCart made; internal callers (orders:read) and the storefront surface. */
export function createOrderService({ orders }: OrderServiceDeps): ServiceImpl<typeof OrderService> {
  return {
    async getOrder(request, context) {
      const order = await orders.get(request.id);
      const caller = principalOf(context);
      // The storefront's callers read guest orders by id (their key to it) and their own.
      const hidden = caller?.storefront === true && order !== undefined && order.customerId !== caller.subject && !isGuestCart(order);
      if (!order || hidden) throw new ConnectError(`order ${request.id} does not exist`, Code.NotFound);
      return { order: toOrderMessage(order) };
    },

    async listOrders(request) {
      const customerId = request.customerId || undefined;
      const filters = [customerId];
      const limit = effectivePageSize(request.pageSize);
      const page = await orders.list({ customerId, beforeId: decodePageToken(request.pageToken, filters, uuidKeyPattern), limit: limit + 1 });
      const { items, nextPageToken } = toPage(page, limit, (order) => order.id, filters);
      return { orders: items.map(toOrderMessage), nextPageToken };
    },
  };
}
