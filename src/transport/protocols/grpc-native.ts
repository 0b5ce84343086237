import { once } from "node:events";
import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createServiceImplSpec,
  type Interceptor,
  type MethodImplSpec,
} from "@connectrpc/connect";
import { transformInvokeImplementation } from "@connectrpc/connect/protocol";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import * as grpc from "@grpc/grpc-js";
import { toBinaryReusing } from "../../service/encoded-messages.js";
import { boundedError } from "./bounded-errors.js";
import {
  type CallContext,
  callEnded,
  createCallContext,
  type ServiceRegistration,
  type UnaryCall,
  UnaryInvoker,
  type UnaryMethodSpec,
} from "./services.js";

export interface NativeGrpcOptions {
  readonly services: readonly ServiceRegistration[];
  readonly interceptors: Interceptor[];
  /** Largest accepted request message. */
  readonly readMaxBytes: number;
  /** Largest response message. */
  readonly writeMaxBytes: number;
  /** Longest deadline a call's timer is set to (a longer one counts as this long). */
  readonly maxTimeoutMs: number;
  /** How long a connection may have no call before the server sends GOAWAY. */
  readonly idleTimeoutMs: number;
}

type AnyMessage = MessageShape<DescMessage>;
type Call = grpc.ServerUnaryCall<Buffer, AnyMessage> | grpc.ServerDuplexStream<Buffer, AnyMessage>;

/**
 * A @grpc/grpc-js server for every registered service, built from the service
 * descriptors. Calls run the same implementations through the same Connect
 * interceptor chain as the Connect router, so validation, error mapping,
 * logging (and whatever else the chain holds) behave alike on both stacks;
 * only the wire handling is grpc-js's, which is several times faster than
 * connect-node's gRPC protocol.
 *
 * The server binds no port: connections are injected (see server.ts).
 */
export function createNativeGrpcServer(options: NativeGrpcOptions): grpc.Server {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.readMaxBytes,
    "grpc.max_send_message_length": options.writeMaxBytes,
    // Ping each client every minute and drop those that do not answer within
    // 20 s, so connections to vanished peers do not pile up.
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": 20_000,
    "grpc.max_connection_idle_ms": options.idleTimeoutMs,
    // Channelz bookkeeping costs on every call and nothing here reads it.
    "grpc.enable_channelz": 0,
  });
  const invoker = new UnaryInvoker(options.services, options.interceptors);
  for (const { service, impl } of options.services) {
    const definition: Record<string, grpc.MethodDefinition<Buffer, AnyMessage>> = {};
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const spec of Object.values(createServiceImplSpec(service, impl).methods)) {
      const { method } = spec;
      const path = `/${service.typeName}/${method.name}`;
      const unary = invoker.methods().get(path);
      // grpc-js only uses the stream flags to choose the shape of the call it
      // hands the handler. A duplex call carries every streaming kind, and
      // Connect's invocation enforces how many messages each kind takes.
      const streaming = unary === undefined;
      definition[method.name] = {
        path,
        requestStream: streaming,
        responseStream: streaming,
        // Requests stay bytes until the handler decodes them: grpc-js would
        // answer INTERNAL for a deserializer that throws, the right answer
        // to malformed bytes is INVALID_ARGUMENT.
        requestSerialize: (bytes: Buffer) => bytes,
        requestDeserialize: (bytes: Buffer) => bytes,
        responseSerialize: (message: AnyMessage) => encode(method.output, message),
        responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
      };
      handlers[method.name] = unary
        ? unaryHandler(invoker, unary, options.maxTimeoutMs)
        : streamingHandler(spec, options.interceptors);
    }
    server.addService(definition, handlers);
  }
  return server;
}

function unaryHandler(
  invoker: UnaryInvoker,
  spec: UnaryMethodSpec,
  maxTimeoutMs: number,
): grpc.handleUnaryCall<Buffer, AnyMessage> {
  return (call, callback) => void answerUnary(invoker, spec, maxTimeoutMs, call, callback);
}

// The handlers' work lives in module-level functions rather than closures made per call: cheaper to create.
async function answerUnary(
  invoker: UnaryInvoker,
  spec: UnaryMethodSpec,
  maxTimeoutMs: number,
  call: grpc.ServerUnaryCall<Buffer, AnyMessage>,
  callback: grpc.sendUnaryData<AnyMessage>,
): Promise<void> {
  try {
    const input = decode(spec.method.input, call.request);
    const request = callOf(call);
    // A longer deadline is the caller's patience, no error: the deadline interceptor bounds the work.
    if (request.timeoutMs !== undefined && request.timeoutMs > maxTimeoutMs) request.timeoutMs = maxTimeoutMs;
    const context = createCallContext(spec.method, request);
    abortOnCancel(call, context);
    const { message, header, trailer } = await invoker.invoke(spec, input, request, context);
    call.sendMetadata(metadataOf(header));
    // Most calls have no trailers of their own: grpc-js then needs no metadata to add to the status.
    callback(null, message, hasEntries(trailer) ? metadataOf(trailer) : undefined);
  } catch (error) {
    callback(statusOf(error));
  }
}

function streamingHandler(spec: MethodImplSpec, interceptors: Interceptor[]): grpc.handleBidiStreamingCall<Buffer, AnyMessage> {
  return (call) => void answerStreaming(spec, interceptors, call);
}

async function answerStreaming(
  spec: MethodImplSpec,
  interceptors: Interceptor[],
  call: grpc.ServerDuplexStream<Buffer, AnyMessage>,
): Promise<void> {
  const context = createCallContext(spec.method, callOf(call));
  abortOnCancel(call, context);
  try {
    // Reading to the end must not destroy the call: the answer is still to be written.
    const requests = decodeEach(spec.method.input, call.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>);
    let headerSent = false;
    for await (const message of transformInvokeImplementation(spec, context, interceptors)(requests)) {
      // The chain fills the response header before the first message.
      if (!headerSent) call.sendMetadata(metadataOf(context.responseHeader));
      headerSent = true;
      if (!call.write(message)) await once(call, "drain", { signal: context.signal });
    }
    if (!headerSent) call.sendMetadata(metadataOf(context.responseHeader));
    call.end(metadataOf(context.responseTrailer));
  } catch (error) {
    // A cancelled call has no one left to tell.
    if (!call.cancelled) call.emit("error", statusOf(error));
  } finally {
    context.abort(callEnded);
  }
}

const cancelledByClient = new ConnectError("the client cancelled the call", Code.Canceled);

/**
 * Aborts the call's context when the client cancels the call. grpc-js also
 * reports every call as cancelled once it is over; by then the context has
 * been aborted with `callEnded`, and a second abort changes nothing, so the
 * listener can stay.
 */
function abortOnCancel(call: Call, context: CallContext): void {
  call.on("cancelled", () => context.abort(cancelledByClient));
}

async function* decodeEach(schema: DescMessage, messages: AsyncIterable<Buffer>): AsyncIterable<AnyMessage> {
  for await (const bytes of messages) yield decode(schema, bytes);
}

function decode(schema: DescMessage, bytes: Buffer): AnyMessage {
  try {
    return fromBinary(schema, bytes);
  } catch (error) {
    throw new ConnectError(`malformed ${schema.typeName}: ${(error as Error).message}`, Code.InvalidArgument);
  }
}

function encode(schema: DescMessage, message: AnyMessage): Buffer {
  const bytes = toBinaryReusing(schema, message);
  // grpc-js copies responses with Buffer methods; wrapping shares the memory.
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The call as Connect's handler context describes it. */
function callOf(call: Call): UnaryCall {
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  return {
    protocolName: "grpc",
    requestMethod: "POST",
    url: `http://${call.getHost()}${call.getPath()}`,
    requestHeader: headersOf(call.metadata),
    timeoutMs: Number.isFinite(deadlineMs) ? Math.max(deadlineMs - Date.now(), 0) : undefined,
  };
}

/** Request metadata as Fetch headers, binary (`-bin`) values base64-encoded, the way Connect's gRPC handler sees them. */
function headersOf(metadata: grpc.Metadata): Headers {
  const headers = new Headers();
  // toJSON hands over the stored value lists as they are; toHttp2Headers would copy them first.
  const entries = metadata.toJSON();
  for (const key in entries) {
    for (const value of entries[key]!) headers.append(key, typeof value === "string" ? value : value.toString("base64"));
  }
  return headers;
}

function hasEntries(headers: Headers): boolean {
  for (const _ of headers.keys()) return true;
  return false;
}

/** The status fields grpc-js writes itself, from the status it is given. */
const statusHeaders = new Set(["grpc-status", "grpc-message"]);

/** Fetch headers as grpc-js metadata: base64 `-bin` values back to bytes, comma-joined ones split. */
function metadataOf(headers: Headers): grpc.Metadata {
  const metadata = new grpc.Metadata();
  headers.forEach((value, key) => {
    if (statusHeaders.has(key)) return;
    if (!key.endsWith("-bin")) return metadata.add(key, value);
    for (const item of value.split(",")) metadata.add(key, Buffer.from(item.trim(), "base64"));
  });
  return metadata;
}

/**
 * A failure as a gRPC status. Connect's own gRPC protocol code builds the
 * trailer, so the error's metadata and the `grpc-status-details-bin`
 * google.rpc.Status (code, message, details such as buf.validate.Violations)
 * are byte for byte what the Connect stack sends. The message goes raw:
 * grpc-js percent-encodes it itself.
 */
function statusOf(reason: unknown): grpc.StatusObject {
  // Anything but a ConnectError escaped the error-mapping interceptor; say nothing about it.
  const error = boundedError(reason instanceof ConnectError ? reason : new ConnectError("internal error", Code.Internal));
  return {
    code: error.code as number as grpc.status,
    details: error.rawMessage,
    metadata: metadataOf(setTrailerStatus(new Headers(), error)),
  };
}
