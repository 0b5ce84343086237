import net from "node:net";
import { ClientPrologue } from "./h2-prologue.js";

/** The client connection preface every HTTP/2 connection starts with (RFC 9113 §3.4). */
const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** How much of a connection to read at most while looking for its first request's headers. */
const maxPrologueBytes = 64 * 1024;
/** How long to wait for a connection's first request before handing it to the `http2` sink anyway. */
const prologueTimeoutMs = 10_000;

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
        handOn(socket, head, sinks.http1);
        // The HTTP/1.1 server reads through the stream, which pausing stopped.
        socket.resume();
      } else if (sinks.grpc) {
        routeByFirstRequest(socket, head, sinks.grpc, sinks.http2);
      } else {
        handOn(socket, head, sinks.http2);
      }
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  });
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
 * client sends no request in time, or too many bytes before one).
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
  }, prologueTimeoutMs);
  socket.on("close", () => clearTimeout(timer));
  socket.on("end", onEnd);
  socket.on("data", read);
  read(head.subarray(http2Preface.length));
}
