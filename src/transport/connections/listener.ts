import net from "node:net";
import { ClientPrologue } from "./h2-prologue.js";

/** The client connection preface every HTTP/2 connection starts with (RFC 9113 §3.4). */
const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** How much of a connection to read at most while looking for its first request's headers. */
const maxPrologueBytes = 64 * 1024;

/**
 * Where a plaintext connection goes once its first bytes tell which protocol
 * it speaks. Every sink gets the socket with the bytes read so far put back:
 * node:http2 reads the bytes a socket already buffers before its native
 * handle, so the server sees the connection from its start.
 */
export interface ConnectionSinks {
  http1(socket: net.Socket): void;
  /** HTTP/2 (h2c, prior knowledge) connections. */
  http2(socket: net.Socket): void;
  /**
   * When given, takes the HTTP/2 connections whose first request is gRPC with
   * protobuf messages (content-type application/grpc or application/grpc+proto)
   * instead of `http2`, for the connection's lifetime.
   */
  grpc?(socket: net.Socket): void;
}

export interface OnePortOptions {
  readonly sinks: ConnectionSinks;
  /**
   * How long a connection gets to show its protocol. A connection still
   * silent, or midway through the HTTP/2 preface, is then closed; one that
   * sent the whole preface but no request yet goes to the `http2` sink, whose
   * own idle timeout takes over.
   */
  readonly protocolDetectionTimeoutMs: number;
  /** Open connections at most; more are closed as soon as they are accepted. */
  readonly maxConnections: number;
  /** A connection was closed at accept, `maxConnections` being open. */
  onRefused(): void;
  /** A connection was closed for not showing its protocol in time. */
  onDetectionTimeout(): void;
}

/**
 * A plaintext listener that serves HTTP/1.1 and HTTP/2 on one port. Node's
 * http2 server ignores HTTP/1.1 without TLS, so the first bytes decide:
 * the HTTP/2 preface goes to an HTTP/2 sink, anything else to HTTP/1.1.
 */
export function createOnePortServer(options: OnePortOptions): net.Server {
  const { sinks } = options;
  const server = net.createServer({ noDelay: true }, (socket) => {
    let head = Buffer.alloc(0);
    // Cleared once the connection is handed on (or, for HTTP/2, replaced by the wait for its first request).
    const deadline = setTimeout(() => {
      options.onDetectionTimeout();
      socket.destroy();
    }, options.protocolDetectionTimeoutMs);
    socket.once("close", () => clearTimeout(deadline));
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const compared = Math.min(head.length, http2Preface.length);
      const couldBeHttp2 = head.subarray(0, compared).equals(http2Preface.subarray(0, compared));
      if (couldBeHttp2 && head.length < http2Preface.length) return; // wait for more bytes
      socket.off("data", onData);
      clearTimeout(deadline);
      if (!couldBeHttp2) {
        handOn(socket, head, sinks.http1);
        // The HTTP/1.1 server reads through the stream, which pausing stopped.
        socket.resume();
      } else if (sinks.grpc) {
        routeByFirstRequest(socket, head, sinks.grpc, sinks.http2, options.protocolDetectionTimeoutMs);
      } else {
        handOn(socket, head, sinks.http2);
      }
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  });
  // Node closes connections over the cap at accept, before they cost more than their socket.
  server.maxConnections = options.maxConnections;
  server.on("drop", () => options.onRefused());
  return server;
}

function handOn(socket: net.Socket, bytesRead: Buffer, sink: (socket: net.Socket) => void): void {
  socket.pause();
  socket.unshift(bytesRead);
  sink(socket);
}

/**
 * Reads an HTTP/2 connection up to its first request's headers and hands it
 * to the gRPC sink when that request is gRPC with protobuf messages, to the
 * HTTP/2 sink otherwise (Connect, gRPC-Web, gRPC with JSON; or when the
 * client sends no request within `timeoutMs`, or too many bytes before one).
 *
 * The choice holds for the connection's lifetime: HTTP/2 multiplexes many
 * requests over one connection, and only its first is looked at. A client
 * that later sends a Connect request on a connection that began with gRPC
 * reaches the gRPC sink, and @grpc/grpc-js answers it with 415 Unsupported
 * Media Type (it takes any application/grpc* content-type, so gRPC-Web would
 * even get plain gRPC back). Clients keep to one protocol per connection in
 * practice, so mixed clients on one port work.
 */
function routeByFirstRequest(
  socket: net.Socket,
  head: Buffer,
  grpc: (socket: net.Socket) => void,
  http2: (socket: net.Socket) => void,
  timeoutMs: number,
): void {
  const prologue = new ClientPrologue(maxPrologueBytes);
  let prefaceAnswered = false;
  const route = () => {
    clearTimeout(timer);
    socket.off("data", read);
    socket.off("end", onEnd);
    const mediaType = prologue.contentType!.split(";")[0]!.trim().toLowerCase();
    const isGrpc = mediaType === "application/grpc" || mediaType === "application/grpc+proto";
    handOn(socket, Buffer.concat([http2Preface, prologue.bytes()]), isGrpc ? grpc : http2);
  };
  const read = (chunk: Buffer) => {
    prologue.push(chunk);
    if (prologue.done) return route();
    // The first request is not here yet: the client may be waiting for the server's SETTINGS.
    if (prologue.contentType === undefined && !prefaceAnswered) {
      prefaceAnswered = true;
      socket.write(prologue.answerPreface());
    }
  };
  // A client that leaves before its first request has nothing to be served.
  const onEnd = () => socket.destroy();
  const timer = setTimeout(() => {
    prologue.giveUp();
    route();
  }, timeoutMs);
  socket.on("close", () => clearTimeout(timer));
  socket.on("end", onEnd);
  socket.on("data", read);
  read(head.subarray(http2Preface.length));
}
