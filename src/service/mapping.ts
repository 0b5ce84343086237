import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Cart as DomainCart, CartStatus as DomainCartStatus, LineItem as DomainLineItem } from "../domain/cart.js";
import { etagOf, lineSubtotal } from "../domain/cart.js";
import type { Product as DomainProduct } from "../domain/product.js";
import { type Cart, CartSchema, CartStatus, type LineItem, LineItemSchema } from "../../gen/commerce/cart/v1/cart_pb.js";
import { type Product, ProductSchema } from "../../gen/commerce/cart/v1/catalog_pb.js";

/** Domain objects to API messages and back: the one place the two vocabularies meet. */

const statusToProto: Record<DomainCartStatus, CartStatus> = {
  active: CartStatus.ACTIVE,
  completed: CartStatus.COMPLETED,
  deleted: CartStatus.DELETED,
};

export function cartStatusFromProto(status: CartStatus): DomainCartStatus | undefined {
  return (Object.keys(statusToProto) as DomainCartStatus[]).find((key) => statusToProto[key] === status);
}

export function toCartMessage(cart: DomainCart): Cart {
  return create(CartSchema, {
    id: cart.id,
    customerId: cart.customerId,
    status: statusToProto[cart.status],
    currency: cart.currency,
    items: cart.lines.map((line) => toLineItemMessage(cart.id, line)),
    subtotalCents: cart.subtotal,
    totalCents: cart.total,
    email: cart.email,
    metadata: cart.metadata,
    etag: etagOf(cart),
    itemQuantity: cart.itemQuantity,
    createdAt: timestampFromDate(cart.createdAt),
    updatedAt: timestampFromDate(cart.updatedAt),
  });
}

function toLineItemMessage(cartId: string, line: DomainLineItem): LineItem {
  return create(LineItemSchema, {
    id: line.id,
    cartId,
    productId: line.productId,
    title: line.title,
    quantity: line.quantity,
    unitPriceCents: line.unitPrice,
    subtotalCents: lineSubtotal(line),
    createdAt: timestampFromDate(line.createdAt),
    updatedAt: timestampFromDate(line.updatedAt),
  });
}

export function toProductMessage(product: DomainProduct): Product {
  return create(ProductSchema, {
    id: product.id,
    title: product.title,
    active: product.active,
    prices: product.prices.map((price) => ({ currency: price.currency, amountCents: price.amount })),
    createdAt: timestampFromDate(product.createdAt),
    updatedAt: timestampFromDate(product.updatedAt),
  });
}
