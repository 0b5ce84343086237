import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { adminToken } from "./auth.js";

/** Sends `Authorization: Bearer <token>` with every call. */
export function bearer(token: string): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
}

/** Every Connect-ES transport the service must serve, by a readable name; calls carry `token` (default: an admin). */
export function connectTransports(baseUrl: string, token: string = adminToken): Record<string, Transport> {
  const interceptors = [bearer(token)];
  return {
    "connect+json (HTTP/1.1)": createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false, interceptors }),
    "connect+proto (HTTP/2)": createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true, interceptors }),
    "grpc-web (HTTP/1.1)": createGrpcWebTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true, interceptors }),
    "grpc (connect-node, HTTP/2)": createGrpcTransport({ baseUrl, interceptors }),
  };
}

export function clientFor<S extends DescService>(service: S, transport: Transport): Client<S> {
  return createClient(service, transport);
}
