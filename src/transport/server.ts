import http from "node:http";
import http2 from "node:http2";
import type net from "node:net";
import type { Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { withSpecEncodedGrpcMessages } from "./grpc-message.js";
import { createNativeGrpcServer } from "./grpc-native.js";
import { healthRegistration } from "./health.js";
import { createOnePortServer } from "./listener.js";
import { readOpenApiDocument } from "./openapi.js";
import { reflectionRegistrations } from "./reflection.js";
import { createRestHandler } from "./rest/handler.js";
import { type ServiceRegistration, UnaryInvoker } from "./services.js";

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly readMaxBytes: number;
  /** Longest deadline a call may ask for, on every stack; longer ones are refused with INVALID_ARGUMENT. */
  readonly maxTimeoutMs: number;
  readonly services: readonly ServiceRegistration[];
  readonly interceptors: Interceptor[];
  /** Which stack serves gRPC with protobuf messages (see Config.grpcServer). */
  readonly grpcServer: "native" | "connect";
}

export interface RunningServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Responses are bounded by the cart limits; this only stops a runaway. */
const writeMaxBytes = 16 * 1024 * 1024;
/** How long in-flight gRPC calls get to finish on close before their connections are cut. */
const shutdownGraceMs = 4_000;

/**
 * Serves every registered service, plus gRPC health and reflection for them,
 * over gRPC, gRPC-Web and the Connect protocol on one plaintext port,
 * HTTP/1.1 and HTTP/2 alike. With `grpcServer: "native"`, HTTP/2 connections
 * that start with a gRPC request go to a @grpc/grpc-js server running the
 * same services and interceptors; everything else goes to connect-node.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const described = [...options.services.map(({ service }) => service), Health];
  const services = [...options.services, healthRegistration(described), ...reflectionRegistrations(described)];
  const handler = withSpecEncodedGrpcMessages(connectNodeAdapter({
    routes: (router) => {
      for (const { service, impl } of services) router.service(service, impl);
    },
    interceptors: options.interceptors,
    readMaxBytes: options.readMaxBytes,
    writeMaxBytes,
    maxTimeoutMs: options.maxTimeoutMs,
    // Unknown fields are refused with a message naming them, as on REST, never silently dropped.
    jsonOptions: { ignoreUnknownFields: false },
    // Whatever is not a Connect/gRPC path: REST/JSON from the google.api.http bindings.
    fallback: createRestHandler({
      invoker: new UnaryInvoker(options.services, options.interceptors),
      readMaxBytes: options.readMaxBytes,
      openApiDocument: readOpenApiDocument(),
    }),
  }));
  const http1Server = http.createServer(handler);
  const http2Server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  http2Server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  const grpcServer =
    options.grpcServer === "native"
      ? createNativeGrpcServer({
          services,
          interceptors: options.interceptors,
          readMaxBytes: options.readMaxBytes,
          writeMaxBytes,
          maxTimeoutMs: options.maxTimeoutMs,
        })
      : undefined;
  const grpcConnections = grpcServer?.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const server = createOnePortServer({
    http1: (socket) => http1Server.emit("connection", socket),
    http2: (socket) => http2Server.emit("connection", socket),
    ...(grpcConnections && { grpc: (socket) => grpcConnections.injectConnection(socket) }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.close();
      http1Server.closeAllConnections();
      await Promise.all([closed, grpcServer && shutDown(grpcServer)]);
    },
  };
}

/** Lets in-flight calls finish, within the grace period. */
function shutDown(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.forceShutdown(), shutdownGraceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
