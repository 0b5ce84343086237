import hpack from "hpack.js";

/** An empty SETTINGS frame: a complete server connection preface (RFC 9113 §3.4) that changes no setting. */
const emptySettingsFrame = Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0]);
const frameHeaderSize = 9;
const frameType = { data: 0x0, headers: 0x1, settings: 0x4, continuation: 0x9 } as const;
const frameFlag = { ack: 0x1, endHeaders: 0x4, padded: 0x8, priority: 0x20 } as const;
/** HPACK's initial dynamic table size, which bounds the client's encoder until a server says otherwise. */
const headerTableSize = 4096;

/**
 * Reads the frames a client sends after the HTTP/2 connection preface until
 * the content-type of its first request is known (from the HEADERS frame and
 * any CONTINUATION frames, HPACK-decoded), so a router can choose the server
 * for the connection and then hand it the bytes read so far.
 *
 * Some clients (gRPC-Java, gRPC-Go) send no request before they have the
 * server's SETTINGS, and no server exists yet. For them the router sends an
 * empty SETTINGS frame (`answerPreface`); the chosen server later sends its
 * own SETTINGS and would take a second, unexpected ACK for a protocol error,
 * so the prologue also waits for the client's ACK of the router's frame and
 * removes it. That ACK is the client's first: the router's frame is the first
 * SETTINGS it receives.
 */
export class ClientPrologue {
  /** The first request's content-type: undefined until known, "" when the client's frames do not tell. */
  contentType: string | undefined;
  private awaitingAck = false;
  /** Complete frames to hand on. */
  private readonly kept: Buffer[] = [];
  /** Bytes from the first incomplete frame on. */
  private unparsed: Buffer = Buffer.alloc(0);
  private headerBlock: Buffer[] = [];
  /** Stream of a header block awaiting CONTINUATION frames; 0 when none is open. */
  private continuedStream = 0;
  private received = 0;

  /** @param maxBytes how many bytes to read at most before giving up on the first request. */
  constructor(private readonly maxBytes: number) {}

  /** True once the router can hand the connection on. */
  get done(): boolean {
    return this.contentType !== undefined && !this.awaitingAck;
  }

  /** The server connection preface for the router to send; the client's ACK of it is removed. */
  answerPreface(): Buffer {
    this.awaitingAck = true;
    return emptySettingsFrame;
  }

  /** Stop reading: the connection is handed on as it is, as if its first request had no content-type. */
  giveUp(): void {
    this.contentType ??= "";
    this.awaitingAck = false;
  }

  /** Everything received after the connection preface, without the removed ACK. */
  bytes(): Buffer {
    return Buffer.concat([...this.kept, this.unparsed]);
  }

  push(chunk: Buffer): void {
    this.received += chunk.length;
    let bytes = this.unparsed.length > 0 ? Buffer.concat([this.unparsed, chunk]) : chunk;
    while (bytes.length >= frameHeaderSize) {
      const length = bytes.readUIntBE(0, 3);
      if (bytes.length < frameHeaderSize + length) break;
      const type = bytes[3]!;
      const flags = bytes[4]!;
      const stream = bytes.readUInt32BE(5) & 0x7fffffff;
      const frame = bytes.subarray(0, frameHeaderSize + length);
      bytes = bytes.subarray(frame.length);
      if (this.awaitingAck && type === frameType.settings && flags & frameFlag.ack) {
        this.awaitingAck = false;
        continue;
      }
      this.kept.push(frame);
      if (this.contentType === undefined) this.inspect(type, flags, stream, frame.subarray(frameHeaderSize));
    }
    this.unparsed = bytes;
    if (!this.done && this.received > this.maxBytes) this.giveUp();
  }

  private inspect(type: number, flags: number, stream: number, payload: Buffer): void {
    if (this.continuedStream !== 0) {
      if (type !== frameType.continuation || stream !== this.continuedStream) return this.cannotTell();
      this.headerBlock.push(payload);
    } else if (type === frameType.headers) {
      const fragment = headerBlockFragment(payload, flags);
      if (stream === 0 || fragment === undefined) return this.cannotTell();
      this.headerBlock.push(fragment);
      this.continuedStream = stream;
    } else {
      // DATA or CONTINUATION before any HEADERS breaks the protocol.
      if (type === frameType.data || type === frameType.continuation) this.cannotTell();
      return;
    }
    if (flags & frameFlag.endHeaders) {
      this.contentType = decodeContentType(Buffer.concat(this.headerBlock));
      this.headerBlock = [];
      this.continuedStream = 0;
    }
  }

  /** Broken framing: the server the connection goes to will tell the client what is wrong. */
  private cannotTell(): void {
    this.contentType = "";
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
