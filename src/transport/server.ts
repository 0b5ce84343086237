import http from "node:http";
import http2 from "node:http2";
import type net from "node:net";
import type { Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createOnePortServer } from "./listener.js";
import type { ServiceRegistration } from "./services.js";

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly readMaxBytes: number;
  readonly services: readonly ServiceRegistration[];
  readonly interceptors: Interceptor[];
}

export interface RunningServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves every registered service over gRPC, gRPC-Web and the Connect
 * protocol on one plaintext port, HTTP/1.1 and HTTP/2 alike.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const handler = connectNodeAdapter({
    routes: (router) => {
      for (const { service, impl } of options.services) router.service(service, impl);
    },
    interceptors: options.interceptors,
    readMaxBytes: options.readMaxBytes,
    // Responses are bounded by the cart limits; this only stops a runaway.
    writeMaxBytes: 16 * 1024 * 1024,
  });
  const http1Server = http.createServer(handler);
  const http2Server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  http2Server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  const server = createOnePortServer({
    http1: (socket) => http1Server.emit("connection", socket),
    http2: (connection) => http2Server.emit("connection", connection),
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
      await closed;
    },
  };
}
