import http from "node:http";
import http2 from "node:http2";
import type net from "node:net";
import type { Interceptor } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { createBurstLog, type Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { withCors } from "./http/cors.js";
import { createConnectAdapter } from "./protocols/connect-adapter.js";
import { withSpecEncodedGrpcMessages } from "./protocols/grpc-message.js";
import { createNativeGrpcServer } from "./protocols/grpc-native.js";
import { healthRegistration } from "./health/grpc-health.js";
import { createOnePortServer } from "./connections/listener.js";
import { readOpenApiDocument } from "./rest/openapi.js";
import { withProbes } from "./health/probes.js";
import type { Readiness } from "./health/readiness.js";
import { reflectionRegistrations } from "./protocols/reflection.js";
import { createRestHandler } from "./rest/handler.js";
import { createStoreHandler, isStorePath, type PublishableKeyResolver } from "./store/handler.js";
import type { Principal } from "../service/principal.js";
import { type ServiceRegistration, UnaryInvoker } from "./protocols/services.js";
import { type StorefrontOptions, withStorefront } from "./http/storefront.js";

/** The bounds on connections (see Config). */
export interface ConnectionLimits {
  readonly protocolDetectionTimeoutMs: number;
  readonly http1HeadersTimeoutMs: number;
  readonly http1RequestTimeoutMs: number;
  readonly http2IdleTimeoutMs: number;
  readonly maxConnections: number;
}

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly readMaxBytes: number;
  /** Longest the service works on a unary call; longer deadlines are accepted and count as this long. */
  readonly maxTimeoutMs: number;
  readonly connectionLimits: ConnectionLimits;
  readonly services: readonly ServiceRegistration[];
  readonly interceptors: Interceptor[];
  /** Which stack serves gRPC with protobuf messages (see Config.grpcServer). */
  readonly grpcServer: "native" | "connect";
  /** Served at GET /metrics. */
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Browser origins allowed to call cross-origin (see Config.corsOrigins). */
  readonly corsOrigins: readonly string[];
  /** When given, the demo storefront is served at /demo. */
  readonly storefront?: Omit<StorefrontOptions, "host">;
  /** What gRPC health and /readyz report; close() starts its draining. */
  readonly readiness: Readiness;
  /** Checks bearer tokens for the Store API, which treats a refused one as none. */
  readonly verifyToken: (token: string) => Promise<Principal>;
  /** The publishable keys every Store API request must carry one of. */
  readonly publishableKeys: PublishableKeyResolver;
}

export interface RunningServer {
  readonly port: number;
  /**
   * Drains, then closes: stops accepting connections, refuses new calls,
   * lets the calls in flight finish for up to `graceMs`, then cuts every
   * connection left. Resolves with whether all finished in time.
   */
  close(graceMs: number): Promise<boolean>;
}

/** Responses are bounded by the cart limits; this only stops a runaway. */
const writeMaxBytes = 16 * 1024 * 1024;

/**
 * Serves every registered service, plus gRPC health and reflection for them,
 * over gRPC, gRPC-Web and the Connect protocol on one plaintext port,
 * HTTP/1.1 and HTTP/2 alike. With `grpcServer: "native"`, HTTP/2 connections
 * that start with a gRPC request go to a @grpc/grpc-js server running the
 * same services and interceptors; everything else goes to connect-node.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const described = [...options.services.map(({ service }) => service), Health];
  const services = [...options.services, healthRegistration(described, options.readiness), ...reflectionRegistrations(described)];
  const invoker = new UnaryInvoker(options.services, options.interceptors);
  const restHandler = createRestHandler({
    invoker,
    readMaxBytes: options.readMaxBytes,
    openApiDocument: readOpenApiDocument(),
    metrics: options.metrics,
    log: options.log,
  });
  const storeHandler = createStoreHandler({
    invoker,
    readMaxBytes: options.readMaxBytes,
    verifyToken: options.verifyToken,
    publishableKeys: options.publishableKeys,
    database: options.readiness,
    log: options.log,
  });
  const rpcHandler = withSpecEncodedGrpcMessages(createConnectAdapter({
    routes: (router) => {
      for (const { service, impl } of services) router.service(service, impl);
    },
    interceptors: options.interceptors,
    readMaxBytes: options.readMaxBytes,
    writeMaxBytes,
    maxTimeoutMs: options.maxTimeoutMs,
    log: options.log,
    // Unknown fields are refused with a message naming them, as on REST, never silently dropped.
    jsonOptions: { ignoreUnknownFields: false },
    // Whatever is not a Connect/gRPC path: the Store API under /store, else REST/JSON from the google.api.http bindings.
    fallback: (request, response) =>
      (isStorePath(request.url?.split("?", 1)[0] ?? "") ? storeHandler : restHandler)(request, response),
  }));
  const corsHandler = withCors(rpcHandler, options.corsOrigins);
  // The demo storefront's pages and token are for its own origin: no CORS headers on them.
  const handler = withProbes(options.readiness, options.storefront ? withStorefront(corsHandler, { ...options.storefront, host: options.host }, options.log) : corsHandler);
  const limits = options.connectionLimits;
  const { metrics, log } = options;
  const logTimeout = {
    protocol_detection: createBurstLog(log, "info", "connection closed: no protocol within the detection timeout"),
    http1_request: createBurstLog(log, "info", "connection closed: HTTP/1.1 request too slow"),
    http2_idle: createBurstLog(log, "info", "HTTP/2 connection idle: GOAWAY sent"),
  };
  const timedOut = (timeout: keyof typeof logTimeout) => {
    metrics.connectionTimedOut(timeout);
    logTimeout[timeout]({ timeout });
  };
  // HTTP/1.1 has no GOAWAY: draining needs the responses in progress, and closes each connection after its response.
  const http1Responses = new Set<http.ServerResponse>();
  const http1Options = {
    headersTimeout: limits.http1HeadersTimeoutMs,
    requestTimeout: limits.http1RequestTimeoutMs,
    // How often Node looks for requests over their time; Node's default (30 s) would let them run far over.
    connectionsCheckingInterval: Math.min(1000, limits.http1HeadersTimeoutMs),
  };
  const http1Server = http.createServer(http1Options, (request, response) => {
    if (options.readiness.draining) response.setHeader("connection", "close");
    http1Responses.add(response);
    response.once("close", () => http1Responses.delete(response));
    handler(request, response);
  });
  // Node checks headersTimeout and requestTimeout only on servers that listen ('listening' starts the checks);
  // this one never does, its connections come from the one-port listener.
  http1Server.emit("listening");
  // What Node does for a client error, plus a count and a log line for requests that took too long (408).
  http1Server.on("clientError", (error: NodeJS.ErrnoException, socket: net.Socket) => {
    const tooSlow = error.code === "ERR_HTTP_REQUEST_TIMEOUT";
    if (tooSlow) timedOut("http1_request");
    if (socket.writable && socket.bytesWritten === 0) {
      socket.write(tooSlow ? "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n" : "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    }
    socket.destroy();
  });
  const http2Server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  http2Server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    // GOAWAY after a while without traffic: calls still open may finish; a client that keeps the connection anyway is cut.
    session.setTimeout(limits.http2IdleTimeoutMs, () => {
      if (session.closed || session.destroyed) return;
      timedOut("http2_idle");
      session.close();
      session.setTimeout(limits.http2IdleTimeoutMs, () => session.destroy());
    });
  });
  const grpcServer =
    options.grpcServer === "native"
      ? createNativeGrpcServer({
          services,
          interceptors: options.interceptors,
          readMaxBytes: options.readMaxBytes,
          writeMaxBytes,
          maxTimeoutMs: options.maxTimeoutMs,
          idleTimeoutMs: limits.http2IdleTimeoutMs,
        })
      : undefined;
  const grpcConnections = grpcServer?.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const logRefused = createBurstLog(log, "warn", "connection refused: MAX_CONNECTIONS connections are open");
  const server = createOnePortServer({
    sinks: {
      http1: (socket) => http1Server.emit("connection", socket),
      http2: (socket) => http2Server.emit("connection", socket),
      ...(grpcConnections && { grpc: (socket) => grpcConnections.injectConnection(socket) }),
    },
    protocolDetectionTimeoutMs: limits.protocolDetectionTimeoutMs,
    maxConnections: limits.maxConnections,
    onRefused: () => {
      metrics.connectionRefused();
      logRefused({ maxConnections: limits.maxConnections });
    },
    onDetectionTimeout: () => timedOut("protocol_detection"),
  });
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    metrics.connectionsChanged(1);
    socket.once("close", () => {
      sockets.delete(socket);
      metrics.connectionsChanged(-1);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  // Accepting can fail (EMFILE: out of file descriptors); the listener goes on, and says so without flooding the log.
  const logAcceptFailure = createBurstLog(log, "warn", "accepting a connection failed");
  server.on("error", (error) => logAcceptFailure({ error: error.message }));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async (graceMs) => {
      options.readiness.startDraining();
      const stoppedListening = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const response of http1Responses) if (!response.headersSent) response.setHeader("connection", "close");
      const inFlightFinished = Promise.all([
        ...[...http1Responses].map((response) => new Promise<void>((resolve) => response.once("close", () => resolve()))),
        // GOAWAY: clients open no new streams on these connections; the open ones finish.
        ...[...sessions].map((session) => new Promise<void>((resolve) => session.close(() => resolve()))),
        grpcServer && new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve())),
      ]);
      let timer: NodeJS.Timeout | undefined;
      const finishedInTime = await Promise.race([
        inFlightFinished.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(resolve, graceMs, false))),
      ]);
      clearTimeout(timer);
      // What is left: idle keep-alive connections, and calls that outlived the grace period.
      grpcServer?.forceShutdown();
      for (const socket of sockets) socket.destroy();
      await stoppedListening;
      return finishedInTime;
    },
  };
}
