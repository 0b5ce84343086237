import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import type { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import type { OrderService } from "../../gen/commerce/cart/v1/order_service_pb.js";
import type { StoreConfigService } from "../../gen/commerce/cart/v1/store_config_service_pb.js";
import { adminToken } from "./auth.js";
import { repoRoot } from "./server.js";

/**
 * A plain @grpc/grpc-js client built from the .proto files with proto-loader,
 * the way another team's service would call us. Methods are promisified;
 * messages use proto field names (snake_case), int64 as strings, enums as names.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- proto-loader messages are untyped
type GrpcJsMethod = (request: object, metadata?: grpc.Metadata, options?: grpc.CallOptions) => Promise<any>;
export type GrpcJsMethodName = Capitalize<
  | Exclude<keyof (typeof CartService)["method"], "watchCart">
  | keyof (typeof CatalogService)["method"]
  | keyof (typeof OrderService)["method"]
  | keyof (typeof StoreConfigService)["method"]
>;
export type ServiceName = "CartService" | "CatalogService" | "OrderService" | "StoreConfigService";
export type GrpcJsClient = Record<GrpcJsMethodName, GrpcJsMethod> & {
  /** Its channel (one HTTP/2 connection), for other clients to share. */
  readonly channel: grpc.Channel;
  close(): void;
};

const definition = protoLoader.loadSync(
  [
    "commerce/cart/v1/cart_service.proto",
    "commerce/cart/v1/catalog_service.proto",
    "commerce/cart/v1/order_service.proto",
    "commerce/cart/v1/store_config_service.proto",
    "commerce/cart/v1/event_service.proto",
  ],
  {
    includeDirs: [path.join(repoRoot, "proto"), path.join(repoRoot, "third_party/proto")],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  },
);
const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  commerce: { cart: { v1: Record<string, grpc.ServiceClientConstructor> } };
};

/**
 * A request in the shape this client takes, decoded by proto-loader from the
 * wire bytes of a protobuf-es message, so one typed request can be sent over
 * every client.
 */
export function toGrpcJsRequest(serviceName: ServiceName, methodName: string, bytes: Uint8Array): object {
  return loaded.commerce.cart.v1[serviceName]!.service[methodName]!.requestDeserialize(Buffer.from(bytes)) as object;
}

/** A client whose calls carry `token` (default: an admin; "" sends none) unless the call's metadata has its own. */
export function grpcJsClient(serviceName: ServiceName, port: number, token: string = adminToken): GrpcJsClient {
  const Constructor = loaded.commerce.cart.v1[serviceName]!;
  const client = new Constructor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const methods: Record<string, unknown> = { channel: client.getChannel(), close: () => client.close() };
  // Server-streaming methods are called through grpcJsServerStream.
  for (const name of Object.keys(Constructor.service).filter((method) => !Constructor.service[method]!.responseStream)) {
    methods[name] = (request: object, metadata = new grpc.Metadata(), options: grpc.CallOptions = {}) =>
      new Promise((resolve, reject) => {
        if (token !== "" && metadata.get("authorization").length === 0) metadata.set("authorization", `Bearer ${token}`);
        (client as unknown as Record<string, (...args: unknown[]) => void>)[name]!.call(
          client,
          request,
          metadata,
          options,
          (error: grpc.ServiceError | null, response: unknown) => (error ? reject(error) : resolve(response)),
        );
      });
  }
  return methods as GrpcJsClient;
}

/**
 * Calls a server-streaming method of CartService or CartEventService, e.g.
 * WatchCart, with `token`; returns grpc-js's stream of responses and a
 * close() that cancels the call and closes the client.
 */
export function grpcJsServerStream(
  serviceName: "CartService" | "CartEventService",
  methodName: string,
  port: number,
  request: object,
  token: string = adminToken,
): { stream: grpc.ClientReadableStream<unknown>; close(): void } {
  const Constructor = loaded.commerce.cart.v1[serviceName]!;
  const client = new Constructor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  const stream = (client as unknown as Record<string, (...args: unknown[]) => grpc.ClientReadableStream<unknown>>)[methodName]!.call(
    client,
    request,
    metadata,
  );
  return {
    stream,
    close: () => {
      stream.cancel();
      client.close();
    },
  };
}
