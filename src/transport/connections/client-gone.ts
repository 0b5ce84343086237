import type http from "node:http";
import type http2 from "node:http2";

/**
 * Whether the client closed its connection (on HTTP/2, its stream) before
 * its answer was written: a failure then is the client's leaving, not the
 * service's fault. (A request read to its end is `destroyed` too, so that
 * says nothing.)
 */
export function clientGone(request: http.IncomingMessage | http2.Http2ServerRequest, response: { readonly destroyed: boolean }): boolean {
  if (response.destroyed) return true;
  return "stream" in request ? request.stream.destroyed : request.socket.destroyed;
}
