import http from "node:http";
import http2 from "node:http2";
import { create, type DescMessage, type DescMethodUnary, type MessageInitShape, toBinary, toJsonString } from "@bufbuild/protobuf";
import { benchPublishableKey, cartId, lineId, productOfLine } from "./dataset.js";
import { CartService } from "../gen/commerce/cart/v1/cart_service_pb.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";

export const operations = ["CreateCart", "GetCart", "AddLineItem", "UpdateLineItem"] as const;
export type Operation = (typeof operations)[number];
/** "Echo" is the ceiling of a server stack: an RPC that never touches the database. */
export type Workload = Operation | "Echo";

/** pgbench only: an add-item transaction on a table pair of its own, the ceiling of AddLineItem's SQL. */
export const minimalAddItem = "minimal add-item";
/** What a row of the report measures. */
export type Measured = Workload | typeof minimalAddItem;

export const protocols = ["grpc", "connect-proto", "connect-json", "rest", "store"] as const;
export type Protocol = (typeof protocols)[number];

/** How the echo is served: grpc.health.v1.Health/Check, or GetCart with a malformed id that validation refuses. */
export type EchoKind = "health" | "invalid-id";

/** One request exactly as h2load repeats it. */
export interface HttpRequest {
  readonly http1: boolean;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | undefined;
  /** What a successful answer looks like: one of these HTTP statuses, and this grpc-status ("" when not gRPC). */
  readonly expected: { readonly httpStatuses: readonly number[]; readonly grpcStatus: string };
}

export interface Rpc<I extends DescMessage = DescMessage> {
  readonly method: DescMethodUnary<I>;
  readonly input: MessageInitShape<I>;
  /** The google.api.http mapping: verb, path, and the body fields as a message of the same type. */
  readonly rest?: { readonly verb: string; readonly path: string; readonly body?: MessageInitShape<I> };
  /** The same through Medusa's Store API (/store), with its own JSON body, when it has the operation. */
  readonly store?: { readonly verb: string; readonly path: string; readonly body?: object };
}

function rpc<I extends DescMessage>(definition: Rpc<I>): Rpc {
  return definition as unknown as Rpc;
}

/** The RPC a workload sends for seeded cart `n`. */
export function rpcFor(workload: Workload, n: number, echo: EchoKind): Rpc & { failsWithInvalidArgument?: boolean } {
  const id = cartId(n);
  switch (workload) {
    case "Echo":
      return echo === "health"
        ? rpc({ method: Health.method.check, input: {} })
        : { ...rpc({ method: CartService.method.getCart, input: { id: "not-a-uuid" } }), failsWithInvalidArgument: true };
    case "CreateCart": {
      const input = { customerId: "bench-customer", email: "bench@example.com" };
      return rpc({ method: CartService.method.createCart, input, rest: { verb: "POST", path: "/v1/carts", body: input } });
    }
    case "GetCart":
      return rpc({
        method: CartService.method.getCart,
        input: { id },
        rest: { verb: "GET", path: `/v1/carts/${id}` },
        store: { verb: "GET", path: `/store/carts/${id}` },
      });
    case "AddLineItem": {
      // A product already in the cart: the line is merged, as most adds to a busy cart are.
      const body = { productId: productOfLine(n, 0), quantity: 1 };
      return rpc({
        method: CartService.method.addLineItem,
        input: { cartId: id, ...body },
        rest: { verb: "POST", path: `/v1/carts/${id}/items`, body },
        store: { verb: "POST", path: `/store/carts/${id}/line-items`, body: { variant_id: body.productId, quantity: 1 } },
      });
    }
    case "UpdateLineItem": {
      const itemId = lineId(n, 0);
      return rpc({
        method: CartService.method.updateLineItem,
        input: { cartId: id, itemId, quantity: 2 },
        rest: { verb: "PATCH", path: `/v1/carts/${id}/items/${itemId}`, body: { quantity: 2 } },
      });
    }
  }
}

/** gRPC length-prefixed message: flag byte 0 (uncompressed), 4-byte big-endian length, bytes. */
function grpcFrame(message: Uint8Array): Uint8Array {
  const frame = new Uint8Array(5 + message.length);
  new DataView(frame.buffer).setUint32(1, message.length);
  frame.set(message, 5);
  return frame;
}

/**
 * The request for `workload` on `protocol` addressing seeded cart `n`, with
 * the given authorization header; undefined when the RPC has no REST mapping.
 */
export function buildRequest(
  workload: Workload,
  protocol: Protocol,
  n: number,
  echo: EchoKind,
  authorization: string,
): HttpRequest | undefined {
  const request = encode(workload, protocol, n, echo);
  // A storefront's shopper is anonymous: the Store API rows send the publishable key only.
  if (protocol === "store") return request;
  return request && { ...request, headers: { ...request.headers, authorization } };
}

function encode(workload: Workload, protocol: Protocol, n: number, echo: EchoKind): HttpRequest | undefined {
  const { method, input, rest, store, failsWithInvalidArgument } = rpcFor(workload, n, echo);
  const message = create(method.input, input);
  const path = `/${method.parent.typeName}/${method.name}`;
  const connectStatus = failsWithInvalidArgument ? 400 : 200;
  switch (protocol) {
    case "grpc":
      return {
        http1: false,
        method: "POST",
        path,
        headers: { "content-type": "application/grpc", te: "trailers" },
        body: grpcFrame(toBinary(method.input, message)),
        expected: { httpStatuses: [200], grpcStatus: failsWithInvalidArgument ? "3" : "0" },
      };
    case "connect-proto":
    case "connect-json": {
      const json = protocol === "connect-json";
      return {
        http1: json,
        method: "POST",
        path,
        headers: { "content-type": json ? "application/json" : "application/proto", "connect-protocol-version": "1" },
        body: json ? Buffer.from(toJsonString(method.input, message)) : toBinary(method.input, message),
        expected: { httpStatuses: [connectStatus], grpcStatus: "" },
      };
    }
    case "rest":
      if (!rest) return undefined;
      return {
        http1: true,
        method: rest.verb,
        path: rest.path,
        headers: rest.body ? { "content-type": "application/json" } : {},
        body: rest.body && Buffer.from(toJsonString(method.input, create(method.input, rest.body))),
        // A transcoder may answer a creating POST with 201 Created.
        expected: { httpStatuses: [200, 201], grpcStatus: "" },
      };
    case "store":
      if (!store) return undefined;
      return {
        http1: true,
        method: store.verb,
        path: store.path,
        headers: { "content-type": "application/json", "x-publishable-api-key": benchPublishableKey },
        body: store.body && Buffer.from(JSON.stringify(store.body)),
        expected: { httpStatuses: [200], grpcStatus: "" },
      };
  }
}

export interface Answer {
  readonly httpStatus: number;
  /** grpc-status from headers or trailers; empty for other protocols. */
  readonly grpcStatus: string;
  readonly bodyBytes: number;
}

/** Sends the request once with Node's own client, to check it before h2load repeats it. */
export function send(port: number, request: HttpRequest): Promise<Answer> {
  return request.http1 ? sendHttp1(port, request) : sendHttp2(port, request);
}

function sendHttp1(port: number, request: HttpRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ host: "127.0.0.1", port, method: request.method, path: request.path, headers: request.headers });
    outgoing.once("error", reject);
    outgoing.once("response", (response) => {
      let bodyBytes = 0;
      response.on("data", (chunk: Buffer) => (bodyBytes += chunk.length));
      response.once("end", () => resolve({ httpStatus: response.statusCode ?? 0, grpcStatus: "", bodyBytes }));
    });
    outgoing.end(request.body && Buffer.from(request.body));
  });
}

function sendHttp2(port: number, request: HttpRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.once("error", reject);
    const stream = session.request({ ":method": request.method, ":path": request.path, ...request.headers });
    let httpStatus = 0;
    let grpcStatus = "";
    let bodyBytes = 0;
    stream.once("response", (headers) => {
      httpStatus = Number(headers[":status"]);
      grpcStatus = String(headers["grpc-status"] ?? "");
    });
    stream.once("trailers", (trailers) => (grpcStatus = String(trailers["grpc-status"] ?? grpcStatus)));
    stream.on("data", (chunk: Buffer) => (bodyBytes += chunk.length));
    stream.once("error", reject);
    stream.once("close", () => {
      session.close();
      resolve({ httpStatus, grpcStatus, bodyBytes });
    });
    stream.end(request.body && Buffer.from(request.body));
  });
}
