import { Duplex } from "node:stream";
import net from "node:net";
import { ClientPrologue, emptySettingsFrame } from "./h2-prologue.js";

/** The client connection preface every HTTP/2 connection starts with (RFC 9113 §3.4). */
const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** How much of a connection to read at most while looking for its first request's headers. */
const maxPrologueBytes = 64 * 1024;
/** How long to wait for a connection's first request before handing it to the `http2` sink anyway. */
const prologueTimeoutMs = 10_000;

/** Where a plaintext connection goes once its first bytes tell which protocol it speaks. */
export interface ConnectionSinks {
  /** Takes HTTP/1.1 sockets; the peeked bytes are already back in the socket. */
  http1(socket: net.Socket): void;
  /** Takes HTTP/2 (h2c, prior knowledge) connections: a stream that replays the bytes read so far. */
  http2(connection: Duplex): void;
  /**
   * When given, takes the HTTP/2 connections whose first request is gRPC with
   * protobuf messages (content-type application/grpc or application/grpc+proto),
   * instead of `http2`. The connection stays with this sink for its lifetime.
   */
  grpc?(connection: Duplex): void;
}

/**
 * A plaintext listener that serves HTTP/1.1 and HTTP/2 on one port. Node's
 * http2 server ignores HTTP/1.1 without TLS, so the first bytes decide:
 * the HTTP/2 preface goes to an HTTP/2 sink, anything else to HTTP/1.1.
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
      if (!couldBeHttp2) {
        socket.pause();
        socket.unshift(head);
        sinks.http1(socket);
        socket.resume();
      } else if (sinks.grpc) {
        routeByFirstRequest(socket, head, sinks as Required<ConnectionSinks>);
      } else {
        socket.pause();
        sinks.http2(new ReplaySocket(socket, head));
      }
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  });
}

/**
 * Reads an HTTP/2 connection up to its first request's headers and hands it
 * to the gRPC sink when that request is gRPC with protobuf messages, to the
 * HTTP/2 sink otherwise (Connect, gRPC-Web, gRPC with JSON; or when the
 * client sends no request in time, or more bytes than allowed before one).
 *
 * The choice holds for the connection's lifetime: HTTP/2 multiplexes many
 * requests over one connection, and only its first is looked at. A client
 * that later sends a Connect request on a connection that began with gRPC
 * reaches the gRPC sink, which answers 415 Unsupported Media Type (what
 * @grpc/grpc-js does for any content-type but application/grpc*). Clients
 * normally use one protocol per connection, so mixed clients on one port work.
 */
function routeByFirstRequest(socket: net.Socket, head: Buffer, sinks: Required<ConnectionSinks>): void {
  // Answer the preface now: some clients send no request before they have the server's SETTINGS.
  socket.write(emptySettingsFrame);
  const prologue = new ClientPrologue(maxPrologueBytes);
  const forwarded = [head.subarray(0, http2Preface.length), prologue.push(head.subarray(http2Preface.length))];
  const route = () => {
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("end", onEnd);
    socket.pause();
    const connection = new ReplaySocket(socket, Buffer.concat(forwarded), prologue);
    const contentType = prologue.contentType!.split(";")[0]!.trim().toLowerCase();
    if (contentType === "application/grpc" || contentType === "application/grpc+proto") sinks.grpc(connection);
    else sinks.http2(connection);
  };
  const onData = (chunk: Buffer) => {
    forwarded.push(prologue.push(chunk));
    if (prologue.contentType !== undefined) route();
  };
  // A client that leaves before its first request has nothing to be served.
  const onEnd = () => socket.destroy();
  const timer = setTimeout(() => {
    prologue.giveUp();
    route();
  }, prologueTimeoutMs);
  socket.on("close", () => clearTimeout(timer));
  socket.on("end", onEnd);
  if (prologue.contentType !== undefined) route();
  else socket.on("data", onData);
}

/**
 * A Duplex over a socket that first yields bytes already read from it.
 * node:http2 reads a net.Socket's native handle directly, so unshifting the
 * peeked bytes back into the socket would lose them; a JS stream works.
 * While a prologue is given and not finished, the socket's bytes pass through it.
 */
export class ReplaySocket extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;

  constructor(
    private readonly socket: net.Socket,
    head: Buffer,
    prologue?: ClientPrologue,
  ) {
    super({ allowHalfOpen: false });
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    this.push(head);
    socket.on("data", (chunk: Buffer) => {
      const bytes = prologue && !prologue.finished ? prologue.push(chunk) : chunk;
      if (bytes.length > 0 && !this.push(bytes)) socket.pause();
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
