import type { OutgoingHttpHeaders } from "node:http";

/**
 * The gRPC spec percent-encodes `grpc-message` only where needed: bytes
 * outside printable ASCII, and '%'. Connect encodes it with
 * encodeURIComponent, which also escapes ':', ';', ',' and the like, and
 * @grpc/grpc-js decodes with decodeURI, which leaves exactly those escapes in
 * place: its callers would read "customer_id%3A must be …". Re-encoding the
 * way the spec does reads right with every decoder.
 */
export function reencodeGrpcMessage(encoded: string): string {
  let message: string;
  try {
    message = decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
  let reencoded = "";
  for (const byte of Buffer.from(message, "utf8")) {
    reencoded +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return reencoded;
}

/** Wraps a Node request handler so that the `grpc-message` trailers it sends are spec-encoded. */
export function withSpecEncodedGrpcMessages<Request, Response extends { addTrailers(trailers: OutgoingHttpHeaders): void }>(
  handler: (request: Request, response: Response) => void,
): (request: Request, response: Response) => void {
  return (request, response) => {
    const addTrailers = response.addTrailers.bind(response);
    response.addTrailers = (trailers: OutgoingHttpHeaders) => {
      const message = trailers["grpc-message"];
      addTrailers(typeof message === "string" ? { ...trailers, "grpc-message": reencodeGrpcMessage(message) } : trailers);
    };
    handler(request, response);
  };
}
