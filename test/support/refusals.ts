import { create, type DescMessage, type DescMethodUnary, type MessageInitShape, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { ConnectError, type Transport } from "@connectrpc/connect";
import type { ServiceError } from "@grpc/grpc-js";
import { type GrpcJsClient, type GrpcJsMethodName, grpcJsClient, type ServiceName, toGrpcJsRequest } from "./grpc-js-client.js";
import { connectErrorOfGrpcJs } from "./rpc-errors.js";

/** One typed request to one method, to be sent over any client. */
export interface Call {
  readonly method: DescMethodUnary;
  readonly request: MessageShape<DescMessage>;
}

export function call<I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>, init: MessageInitShape<I>): Call {
  return { method: method as unknown as DescMethodUnary, request: create(method.input, init) };
}

/** Sends a request and returns the error it was refused with; fails when the call succeeds. */
export type Refusal = (call: Call) => Promise<ConnectError>;

export function refusalOver(transport: Transport): Refusal {
  return async ({ method, request }) => {
    try {
      await transport.unary(method, undefined, undefined, undefined, request, undefined);
    } catch (error) {
      return ConnectError.from(error);
    }
    throw new Error(`${method.name} succeeded`);
  };
}

/** Over @grpc/grpc-js clients carrying `token` (default: an admin); they are added to `opened`, for the caller to close. */
export function refusalOverGrpcJs(port: number, opened: GrpcJsClient[], token?: string): Refusal {
  const clients = new Map<ServiceName, GrpcJsClient>();
  const clientOf = (serviceName: ServiceName) => {
    let client = clients.get(serviceName);
    if (!client) {
      client = grpcJsClient(serviceName, port, token);
      clients.set(serviceName, client);
      opened.push(client);
    }
    return client;
  };
  return async ({ method, request }) => {
    const serviceName = method.parent.name as ServiceName;
    try {
      const grpcRequest = toGrpcJsRequest(serviceName, method.name, toBinary(method.input, request));
      await clientOf(serviceName)[method.name as GrpcJsMethodName](grpcRequest);
    } catch (error) {
      return connectErrorOfGrpcJs(error as ServiceError);
    }
    throw new Error(`${method.name} succeeded`);
  };
}
