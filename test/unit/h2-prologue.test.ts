import hpack from "hpack.js";
import { describe, expect, it } from "vitest";
import { ClientPrologue } from "../../src/transport/connections/h2-prologue.js";

const type = { data: 0x0, headers: 0x1, priority: 0x2, settings: 0x4, ping: 0x6, windowUpdate: 0x8, continuation: 0x9 };
const flag = { ack: 0x1, endStream: 0x1, endHeaders: 0x4, padded: 0x8, priority: 0x20 };

function frame(frameType: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = frameType;
  header[4] = flags;
  header.writeUInt32BE(stream, 5);
  return Buffer.concat([header, payload]);
}

function headerBlock(contentType: string): Buffer {
  const compressor = hpack.compressor.create({ table: { size: 4096 } });
  compressor.write([
    { name: ":method", value: "POST" },
    { name: ":scheme", value: "http" },
    { name: ":path", value: "/grpc.health.v1.Health/Check" },
    { name: ":authority", value: "127.0.0.1" },
    { name: "content-type", value: contentType },
    { name: "te", value: "trailers" },
  ]);
  return compressor.read();
}

const clientSettings = frame(type.settings, 0, 0, Buffer.from([0, 4, 0, 0x60, 0, 0])); // INITIAL_WINDOW_SIZE
const windowUpdate = frame(type.windowUpdate, 0, 0, Buffer.from([0, 0x0f, 0, 0x01]));
const settingsAck = frame(type.settings, flag.ack, 0);
const grpcHeaders = frame(type.headers, flag.endHeaders, 1, headerBlock("application/grpc"));

/** Feeds the bytes one at a time, the worst split a socket can produce. */
function pushBytewise(prologue: ClientPrologue, bytes: Buffer): void {
  for (let i = 0; i < bytes.length; i++) prologue.push(bytes.subarray(i, i + 1));
}

describe("ClientPrologue", () => {
  it("reads the first request's content-type after SETTINGS and WINDOW_UPDATE, and hands on every byte", () => {
    const prologue = new ClientPrologue(64 * 1024);
    const bytes = Buffer.concat([clientSettings, windowUpdate, grpcHeaders]);
    prologue.push(bytes);
    expect(prologue.contentType).toBe("application/grpc");
    expect(prologue.done).toBe(true);
    expect(prologue.bytes()).toEqual(bytes);
  });

  it("waits for frames split anywhere", () => {
    const prologue = new ClientPrologue(64 * 1024);
    const bytes = Buffer.concat([clientSettings, grpcHeaders, frame(type.data, flag.endStream, 1, Buffer.alloc(5))]);
    pushBytewise(prologue, bytes.subarray(0, clientSettings.length + grpcHeaders.length - 1));
    expect(prologue.contentType).toBeUndefined();
    pushBytewise(prologue, bytes.subarray(clientSettings.length + grpcHeaders.length - 1));
    expect(prologue.contentType).toBe("application/grpc");
    expect(prologue.bytes()).toEqual(bytes);
  });

  it("strips padding and priority fields from HEADERS", () => {
    const block = headerBlock("application/grpc+proto");
    const padding = 7;
    const priority = Buffer.from([0, 0, 0, 0, 15]);
    const payload = Buffer.concat([Buffer.from([padding]), priority, block, Buffer.alloc(padding)]);
    const prologue = new ClientPrologue(64 * 1024);
    prologue.push(Buffer.concat([clientSettings, frame(type.headers, flag.endHeaders | flag.padded | flag.priority, 3, payload)]));
    expect(prologue.contentType).toBe("application/grpc+proto");
  });

  it("joins a header block continued over CONTINUATION frames", () => {
    const block = headerBlock("application/proto");
    const prologue = new ClientPrologue(64 * 1024);
    prologue.push(Buffer.concat([clientSettings, frame(type.headers, 0, 1, block.subarray(0, 4))]));
    prologue.push(frame(type.continuation, 0, 1, block.subarray(4, 9)));
    expect(prologue.contentType).toBeUndefined();
    prologue.push(frame(type.continuation, flag.endHeaders, 1, block.subarray(9)));
    expect(prologue.contentType).toBe("application/proto");
  });

  it("removes the client's ACK of the preface answer, and waits for it", () => {
    const prologue = new ClientPrologue(64 * 1024);
    prologue.push(clientSettings);
    expect(prologue.answerPreface()).toEqual(frame(type.settings, 0, 0));
    prologue.push(grpcHeaders);
    expect(prologue.contentType).toBe("application/grpc");
    expect(prologue.done).toBe(false);
    pushBytewise(prologue, settingsAck);
    expect(prologue.done).toBe(true);
    expect(prologue.bytes()).toEqual(Buffer.concat([clientSettings, grpcHeaders]));
  });

  it("keeps a client's ACK when no preface answer was sent", () => {
    const prologue = new ClientPrologue(64 * 1024);
    const bytes = Buffer.concat([clientSettings, settingsAck, grpcHeaders]);
    prologue.push(bytes);
    expect(prologue.bytes()).toEqual(bytes);
  });

  it("cannot tell the content-type of broken framing, and leaves the error to the server", () => {
    const dataFirst = new ClientPrologue(64 * 1024);
    dataFirst.push(Buffer.concat([clientSettings, frame(type.data, 0, 1, Buffer.alloc(5))]));
    expect(dataFirst.contentType).toBe("");

    const headersOnStreamZero = new ClientPrologue(64 * 1024);
    headersOnStreamZero.push(frame(type.headers, flag.endHeaders, 0, headerBlock("application/grpc")));
    expect(headersOnStreamZero.contentType).toBe("");

    const interrupted = new ClientPrologue(64 * 1024);
    interrupted.push(Buffer.concat([frame(type.headers, 0, 1, Buffer.from([0x83])), frame(type.ping, 0, 0, Buffer.alloc(8))]));
    expect(interrupted.contentType).toBe("");

    const undecodable = new ClientPrologue(64 * 1024);
    undecodable.push(frame(type.headers, flag.endHeaders, 1, Buffer.from([0xff, 0xff, 0xff])));
    expect(undecodable.contentType).toBe("");
  });

  it("gives up after reading too much without a request, handing on the bytes as they came", () => {
    const prologue = new ClientPrologue(100);
    prologue.answerPreface();
    const pings = Buffer.concat(Array.from({ length: 6 }, () => frame(type.ping, 0, 0, Buffer.alloc(8))));
    const partial = frame(type.headers, flag.endHeaders, 1, headerBlock("application/grpc")).subarray(0, 5);
    prologue.push(Buffer.concat([pings, partial]));
    expect(prologue.done).toBe(true);
    expect(prologue.contentType).toBe("");
    expect(prologue.bytes()).toEqual(Buffer.concat([pings, partial]));
  });
});
