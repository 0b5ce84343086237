import { Duplex } from "node:stream";
import net from "node:net";

/** The client connection preface every HTTP/2 connection starts with (RFC 9113 §3.4). */
const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Where a plaintext connection goes once its first bytes tell which HTTP version it speaks. */
export interface ConnectionSinks {
  /** Takes HTTP/1.1 sockets; the peeked bytes are already back in the socket. */
  http1(socket: net.Socket): void;
  /** Takes HTTP/2 (h2c, prior knowledge) connections: a stream that replays the peeked bytes. */
  http2(connection: Duplex, head: Buffer): void;
}

/**
 * A plaintext listener that serves HTTP/1.1 and HTTP/2 on one port. Node's
 * http2 server ignores HTTP/1.1 without TLS, so the first bytes decide:
 * the HTTP/2 preface goes to the HTTP/2 sink, anything else to HTTP/1.1.
 */
export function createOnePortServer(sinks: ConnectionSinks): net.Server {
  return net.createServer({ noDelay: true }, (socket) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const compared = Math.min(head.length, http2Preface.length);
      const couldBeHttp2 = head.subarray(0, compared).equals(http2Preface.subarray(0, compared));
      if (couldBeHttp2 && head.length < http2Preface.length) return; // wait for more bytes
      socket.off("data", onData);
      socket.pause();
      if (couldBeHttp2) {
        sinks.http2(new ReplaySocket(socket, head), head);
      } else {
        socket.unshift(head);
        sinks.http1(socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  });
}

/**
 * A Duplex over a socket that first yields bytes already read from it.
 * node:http2 reads a net.Socket's native handle directly, so unshifting the
 * peeked bytes back into the socket would lose them; a JS stream works.
 */
export class ReplaySocket extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;

  constructor(
    private readonly socket: net.Socket,
    head: Buffer,
  ) {
    super({ allowHalfOpen: false });
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    this.push(head);
    socket.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on("end", () => this.push(null));
    socket.on("error", (error) => this.destroy(error));
    socket.on("close", () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy(error ?? undefined);
    callback(error);
  }

  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this.socket.setKeepAlive(enable, initialDelay);
    return this;
  }

  setTimeout(timeout: number, callback?: () => void): this {
    this.socket.setTimeout(timeout, callback);
    return this;
  }
}
