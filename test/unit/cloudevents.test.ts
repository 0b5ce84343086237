import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { CartEventSchema, CartEventType } from "../../gen/commerce/cart/v1/events_pb.js";
import { binaryProtobufEvent, structuredJsonEvent } from "../../src/events/cloudevents.js";
import type { StoredEvent } from "../../src/storage/outbox-repository.js";

const time = new Date("2026-12-05T12:00:00.123Z");
const message = create(CartEventSchema, {
  id: "0193a000-0000-7000-8000-000000000001",
  type: CartEventType.ORDER_PLACED,
  cartId: "0193a000-0000-7000-8000-000000000002",
  cartVersion: 7n,
  time: timestampFromDate(time),
  principal: "alice",
});
const event: StoredEvent = {
  seq: 1n,
  id: message.id,
  type: "order.placed",
  cartId: message.cartId,
  cartVersion: 7,
  time,
  data: toBinary(CartEventSchema, message),
};

describe("CloudEvents encoding", () => {
  it("structured mode: one JSON object with the context attributes and the CartEvent in proto JSON as data", () => {
    const { headers, body } = structuredJsonEvent(event);
    expect(Object.fromEntries(headers)).toEqual({ "content-type": "application/cloudevents+json" });
    expect(JSON.parse(new TextDecoder().decode(body))).toEqual({
      specversion: "1.0",
      type: "commerce.cart.v1.order.placed",
      source: "/commerce.cart.v1/carts",
      id: message.id,
      subject: message.cartId,
      time: "2026-12-05T12:00:00.123Z",
      datacontenttype: "application/json",
      data: {
        id: message.id,
        type: "CART_EVENT_TYPE_ORDER_PLACED",
        cartId: message.cartId,
        cartVersion: "7",
        time: "2026-12-05T12:00:00.123Z",
        principal: "alice",
      },
    });
  });

  it("binary mode: the attributes as ce- headers and the CartEvent in protobuf binary as the body", () => {
    const { headers, body } = binaryProtobufEvent(event);
    expect(Object.fromEntries(headers)).toEqual({
      "ce-specversion": "1.0",
      "ce-type": "commerce.cart.v1.order.placed",
      "ce-source": "/commerce.cart.v1/carts",
      "ce-id": message.id,
      "ce-subject": message.cartId,
      "ce-time": "2026-12-05T12:00:00.123Z",
      "ce-dataschema": "type.googleapis.com/commerce.cart.v1.CartEvent",
      "content-type": "application/protobuf",
    });
    expect(fromBinary(CartEventSchema, body)).toEqual(message);
  });
});
