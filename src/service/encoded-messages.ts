import { type DescField, type DescMessage, type Message, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/**
 * Binary encodings of messages sent more than once: a mutation's cart goes
 * into its event and again into the answer, and a held GetCart answer goes out
 * to every reader of an unchanged cart (see cart-service.ts). Encoding such a
 * cart each time was a sizeable share of the CPU. Entries are keyed weakly by
 * the message object, so each lives only as long as its message; a message
 * must not be changed once its encoding is remembered (a masked read prunes a
 * decoded copy). Only the native gRPC serializer, the outbox and the
 * idempotency store write through toBinaryReusing; Connect encodes anew.
 */
const encodings = new WeakMap<Message, Uint8Array>();

/** The message's binary encoding, made once and remembered for toBinaryReusing. */
export function encodeOnce<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Uint8Array {
  let bytes = encodings.get(message);
  if (!bytes) {
    bytes = toBinary(schema, message);
    encodings.set(message, bytes);
  }
  return bytes;
}

/** The fields whose values toBinaryReusing can take from a remembered encoding: singular, length-delimited message fields. */
const reusableFieldsOf = new WeakMap<DescMessage, readonly DescField[]>();

function reusableFields(schema: DescMessage): readonly DescField[] {
  let fields = reusableFieldsOf.get(schema);
  if (!fields) {
    fields = schema.fields.filter((field) => field.fieldKind === "message" && !field.oneof && !field.delimitedEncoding);
    reusableFieldsOf.set(schema, fields);
  }
  return fields;
}

/**
 * toBinary, except that a singular message field holding a message whose
 * encoding encodeOnce remembered is written from that encoding. It is
 * written after the other fields: protobuf parsers accept fields in any
 * order, and the field occurs once, so the bytes decode to the same message.
 */
export function toBinaryReusing<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Uint8Array {
  let reused: [DescField, Uint8Array][] | undefined;
  const values = message as unknown as Record<string, Message | undefined>;
  for (const field of reusableFields(schema)) {
    const value = values[field.localName];
    const bytes = value?.$typeName === field.message!.typeName ? encodings.get(value) : undefined;
    if (bytes) (reused ??= []).push([field, bytes]);
  }
  if (!reused) return toBinary(schema, message);
  const rest = { ...values };
  for (const [field] of reused) rest[field.localName] = undefined;
  const writer = new BinaryWriter().raw(toBinary(schema, rest as unknown as MessageShape<Desc>));
  for (const [field, bytes] of reused) writer.tag(field.number, WireType.LengthDelimited).bytes(bytes);
  return writer.finish();
}
