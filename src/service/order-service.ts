import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { OrderRepository } from "../storage/order-repository.js";
import type { OrderService } from "../../gen/commerce/cart/v1/order_service_pb.js";
import { toOrderMessage } from "./mapping.js";
import { decodePageToken, effectivePageSize, toPage, uuidKeyPattern } from "./page-token.js";

export interface OrderServiceDeps {
  readonly orders: OrderRepository;
}

/** Reads of the orders CompleteCart made; internal callers only (orders:read). */
export function createOrderService({ orders }: OrderServiceDeps): ServiceImpl<typeof OrderService> {
  return {
    async getOrder(request) {
      const order = await orders.get(request.id);
      if (!order) throw new ConnectError(`order ${request.id} does not exist`, Code.NotFound);
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
