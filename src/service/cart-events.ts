import { AsyncLocalStorage } from "node:async_hooks";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type CartAspect as DomainAspect, type CartEventKind, describeCartChange } from "../domain/cart-events.js";
import type { DescribeCartEvent } from "../storage/outbox-repository.js";
import { CartAspect, CartEventSchema, CartEventType } from "../../gen/commerce/cart/v1/events_pb.js";
import { toBinaryReusing } from "./encoded-messages.js";
import { toOrderMessage, sharedCartMessage } from "./mapping.js";
import type { Principal } from "./principal.js";

/**
 * The caller a change is made for, for its event: the authentication
 * interceptor runs each call inside it, so every mutation a call makes,
 * through whichever service, names its caller without passing it along.
 * Outside a call (the expiry sweeper) there is none.
 */
export const actingPrincipal = new AsyncLocalStorage<Principal | undefined>();

const eventTypes: Record<CartEventKind, CartEventType> = {
  created: CartEventType.CART_CREATED,
  changed: CartEventType.CART_CHANGED,
  order_placed: CartEventType.ORDER_PLACED,
  transferred: CartEventType.CART_TRANSFERRED,
  merged: CartEventType.CART_MERGED,
  expired: CartEventType.CART_EXPIRED,
  deleted: CartEventType.CART_DELETED,
};

const aspects: Record<DomainAspect, CartAspect> = {
  lines: CartAspect.LINES,
  promotions: CartAspect.PROMOTIONS,
  shipping: CartAspect.SHIPPING,
  addresses: CartAspect.ADDRESSES,
  details: CartAspect.DETAILS,
};

/** An event type's short name: CART_EVENT_TYPE_ORDER_PLACED is "order.placed" (NATS subjects, CloudEvents types). */
export function eventTypeName(type: CartEventType): string {
  return CartEventType[type].toLowerCase().replaceAll("_", ".");
}

/** Describes each change the repositories write as a CartEvent (see storage/outbox-repository.ts). */
export function createCartEventDescriber(newId: () => string): DescribeCartEvent {
  return (before, after, order) => {
    const change = describeCartChange(before, after);
    const type = eventTypes[change.kind];
    const time = after.updatedAt;
    const event = create(CartEventSchema, {
      id: newId(),
      type,
      cartId: after.id,
      cartVersion: BigInt(after.version),
      time: timestampFromDate(time),
      principal: actingPrincipal.getStore()?.subject ?? "",
      cart: sharedCartMessage(after),
      changedAspects: change.aspects.map((aspect) => aspects[aspect]),
      order: order && toOrderMessage(order),
      previousCustomerId: change.kind === "transferred" ? before!.customerId : "",
    });
    return {
      id: event.id,
      type: eventTypeName(type),
      cartId: after.id,
      cartVersion: after.version,
      time,
      data: toBinaryReusing(CartEventSchema, event),
    };
  };
}
