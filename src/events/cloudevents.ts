import { fromBinary, toJson } from "@bufbuild/protobuf";
import { CartEventSchema } from "../../gen/commerce/cart/v1/events_pb.js";
import type { StoredEvent } from "../storage/outbox-repository.js";

/** CloudEvents `source` of every cart event. */
export const eventSource = "/commerce.cart.v1/carts";
/** CloudEvents `type` prefix: "commerce.cart.v1.order.placed". */
const typePrefix = "commerce.cart.v1.";

/** The CloudEvents 1.0 context attributes of a stored event. */
export function cloudEventAttributes(event: StoredEvent) {
  return {
    specversion: "1.0",
    type: typePrefix + event.type,
    source: eventSource,
    id: event.id,
    subject: event.cartId,
    time: event.time.toISOString(),
  };
}

/** A message body and its headers in one CloudEvents content mode. */
export interface EncodedEvent {
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
}

const encoder = new TextEncoder();

/**
 * Structured content mode: the whole event as one JSON object
 * (`application/cloudevents+json`), `data` the CartEvent in proto JSON.
 */
export function structuredJsonEvent(event: StoredEvent): EncodedEvent {
  const data = toJson(CartEventSchema, fromBinary(CartEventSchema, event.data));
  const body = { ...cloudEventAttributes(event), datacontenttype: "application/json", data };
  return { headers: new Map([["content-type", "application/cloudevents+json"]]), body: encoder.encode(JSON.stringify(body)) };
}

/**
 * Binary content mode: the attributes as `ce-` headers, the CartEvent in
 * protobuf binary as the body (`content-type: application/protobuf`);
 * `ce-dataschema` names the message type.
 */
export function binaryProtobufEvent(event: StoredEvent): EncodedEvent {
  const headers = new Map(Object.entries(cloudEventAttributes(event)).map(([name, value]) => [`ce-${name}`, value]));
  headers.set("ce-dataschema", `type.googleapis.com/${CartEventSchema.typeName}`);
  headers.set("content-type", "application/protobuf");
  return { headers, body: event.data };
}
