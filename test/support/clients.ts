import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";

/** Every Connect-ES transport the service must serve, by a readable name. */
export function connectTransports(baseUrl: string): Record<string, Transport> {
  return {
    "connect+json (HTTP/1.1)": createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false }),
    "connect+proto (HTTP/2)": createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
    "grpc-web (HTTP/1.1)": createGrpcWebTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
    "grpc (connect-node, HTTP/2)": createGrpcTransport({ baseUrl }),
  };
}

export function clientFor<S extends DescService>(service: S, transport: Transport): Client<S> {
  return createClient(service, transport);
}
