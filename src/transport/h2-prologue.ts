import hpack from "hpack.js";

/** An empty SETTINGS frame: a complete server connection preface (RFC 9113 §3.4) that changes no setting. */
export const emptySettingsFrame = Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0]);

const frameHeaderSize = 9;
const frameType = { data: 0x0, headers: 0x1, settings: 0x4, continuation: 0x9 } as const;
const frameFlag = { ack: 0x1, endHeaders: 0x4, padded: 0x8, priority: 0x20 } as const;
/** HPACK's initial dynamic table size, which bounds the client's encoder until a server says otherwise. */
const headerTableSize = 4096;
const noBytes = Buffer.alloc(0);

/**
 * Follows the frames a client sends after the HTTP/2 connection preface, for
 * as long as a router needs them:
 *
 * - it reads the content-type of the first request (its HEADERS frame and any
 *   CONTINUATION frames, HPACK-decoded), so the router can choose a server;
 * - it removes the client's acknowledgement of the empty SETTINGS frame the
 *   router sent on the server's behalf. Some clients (gRPC-Java, gRPC-Go) send
 *   no request before they have the server's SETTINGS, so the router must
 *   answer before any server exists; the chosen server then sends its own
 *   SETTINGS and would treat a second, unexpected ACK as a protocol error.
 *   The client's first ACK is always the one for the router's frame, which it
 *   received first.
 *
 * Bytes go through `push`, which returns what to pass on to the server, in
 * order; whole frames are held back only while the header block is read.
 * Once `finished`, the client's bytes can bypass it.
 */
export class ClientPrologue {
  /** The first request's content-type: undefined until known, "" when the client's frames do not tell. */
  contentType: string | undefined;
  private ackRemoved = false;
  /** The start of a frame whose header (or header block payload) is not complete yet. */
  private pending = noBytes;
  /** Payload bytes of a passed-on frame still to come. */
  private payloadToPass = 0;
  private headerBlock: Buffer[] = [];
  /** Stream of a header block awaiting CONTINUATION frames; 0 when none is open. */
  private continuedStream = 0;
  private received = 0;

  /** @param maxBytes how many bytes to read at most while looking for the first request's headers. */
  constructor(private readonly maxBytes: number) {}

  get finished(): boolean {
    return this.ackRemoved && this.contentType !== undefined;
  }

  /** Stop looking for the first request: it will be served as if it had no content-type. */
  giveUp(): void {
    this.contentType ??= "";
  }

  push(chunk: Buffer): Buffer {
    this.received += chunk.length;
    if (this.received > this.maxBytes) this.giveUp();
    const output: Buffer[] = [];
    let bytes = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = noBytes;
    while (bytes.length > 0) {
      if (this.payloadToPass > 0 || this.finished) {
        const passed = this.finished ? bytes.length : Math.min(this.payloadToPass, bytes.length);
        output.push(bytes.subarray(0, passed));
        this.payloadToPass = this.finished ? 0 : this.payloadToPass - passed;
        bytes = bytes.subarray(passed);
        continue;
      }
      if (bytes.length < frameHeaderSize) {
        this.pending = bytes;
        break;
      }
      const length = bytes.readUIntBE(0, 3);
      const type = bytes[3]!;
      const flags = bytes[4]!;
      const stream = bytes.readUInt32BE(5) & 0x7fffffff;
      if (type === frameType.settings && flags & frameFlag.ack && length === 0 && !this.ackRemoved) {
        this.ackRemoved = true;
        bytes = bytes.subarray(frameHeaderSize);
        continue;
      }
      if (this.contentType === undefined) {
        const readsPayload = type === frameType.headers || type === frameType.continuation;
        if (readsPayload && bytes.length < frameHeaderSize + length) {
          this.pending = bytes;
          break;
        }
        this.inspect(type, flags, stream, bytes.subarray(frameHeaderSize, frameHeaderSize + length));
      }
      output.push(bytes.subarray(0, frameHeaderSize));
      this.payloadToPass = length;
      bytes = bytes.subarray(frameHeaderSize);
    }
    return output.length === 1 ? output[0]! : Buffer.concat(output);
  }

  private inspect(type: number, flags: number, stream: number, payload: Buffer): void {
    if (this.continuedStream !== 0) {
      if (type !== frameType.continuation || stream !== this.continuedStream) return this.giveUp();
      this.headerBlock.push(payload);
    } else if (type === frameType.headers) {
      const fragment = headerBlockFragment(payload, flags);
      if (stream === 0 || fragment === undefined) return this.giveUp();
      this.headerBlock.push(fragment);
      this.continuedStream = stream;
    } else {
      // DATA or CONTINUATION before any HEADERS breaks the protocol; the server will say so.
      if (type === frameType.data || type === frameType.continuation) this.giveUp();
      return;
    }
    if (flags & frameFlag.endHeaders) {
      this.contentType = decodeContentType(Buffer.concat(this.headerBlock));
      this.headerBlock = [];
      this.continuedStream = 0;
    }
  }
}

/** A HEADERS frame's payload without its padding and priority fields (RFC 9113 §6.2). */
function headerBlockFragment(payload: Buffer, flags: number): Buffer | undefined {
  let start = 0;
  let end = payload.length;
  if (flags & frameFlag.padded) {
    if (payload.length === 0) return undefined;
    start = 1;
    end -= payload[0]!;
  }
  if (flags & frameFlag.priority) start += 5;
  return start <= end ? payload.subarray(start, end) : undefined;
}

/** The content-type in a connection's first header block; "" when absent or undecodable. */
function decodeContentType(block: Buffer): string {
  const decompressor = hpack.decompressor.create({ table: { size: headerTableSize } });
  let failed = false;
  decompressor.on("error", () => (failed = true));
  decompressor.write(block);
  decompressor.execute();
  let contentType = "";
  for (let field = decompressor.read(); field !== null; field = decompressor.read()) {
    if (field.name === "content-type") contentType = field.value;
  }
  return failed ? "" : contentType;
}
