import type { DescMethod, DescMethodUnary, DescService, Message } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextKey,
  createContextValues,
  createServiceImplSpec,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
  type ServiceImpl,
} from "@connectrpc/connect";
import { replayedResponseKey } from "../../service/idempotency.js";
import { invokeUnaryImplementation } from "@connectrpc/connect/protocol";

/**
 * Why a call's signal is aborted once the call is over. Passed ready-made:
 * without a reason, abort() builds a DOMException (stack trace included) on
 * every call, a tenth of the CPU time of a fast call.
 */
export const callEnded = new ConnectError("the call has ended", Code.Canceled);

/**
 * The protocol of a call ("grpc", "rest"), set by the transports that decode
 * calls themselves (native gRPC, REST): interceptors see no protocol name.
 */
export const protocolKey = createContextKey<string | undefined>(undefined, { description: "protocol of the call" });

/** A service descriptor with its implementation, as every protocol serves it. */
export interface ServiceRegistration {
  readonly service: DescService;
  readonly impl: Partial<ServiceImpl<DescService>>;
}

/**
 * Pairs a service with its implementation. Every unary method answers with
 * the response an interceptor already holds for the call (an idempotent
 * replay) instead of running again; the protocol then frames that response
 * like any other, headers included.
 */
export function registration<S extends DescService>(service: S, impl: ServiceImpl<S>): ServiceRegistration {
  const methods = impl as unknown as Record<string, (request: Message, context: HandlerContext) => unknown>;
  const wrapped: Record<string, unknown> = { ...methods };
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const run = methods[method.localName]!.bind(impl);
    wrapped[method.localName] = (request: Message, context: HandlerContext) =>
      context.values.get(replayedResponseKey) ?? run(request, context);
  }
  // The pairing is checked above; the list of registrations forgets each service's own types.
  return { service, impl: wrapped as Partial<ServiceImpl<DescService>> };
}

export type UnaryMethodSpec = MethodImplSpec & { kind: "unary"; method: DescMethodUnary };

export interface UnaryCall {
  /** Name of the protocol the call arrived on, as interceptors see it (e.g. "grpc", "rest"). */
  protocolName: string;
  /** HTTP method of the incoming request. */
  requestMethod: string;
  url: string;
  requestHeader: Headers;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * Runs unary methods through the same interceptor chain and implementation
 * that Connect's router uses, for transports that decode requests themselves
 * (the REST transcoder and the native gRPC server). One code path for business
 * logic, whatever the protocol.
 */
export class UnaryInvoker {
  private readonly specs = new Map<string, UnaryMethodSpec>();

  constructor(
    services: readonly ServiceRegistration[],
    private readonly interceptors: Interceptor[],
  ) {
    for (const { service, impl } of services) {
      const spec = createServiceImplSpec(service, impl);
      for (const method of Object.values(spec.methods)) {
        if (method.kind === "unary") this.specs.set(`/${service.typeName}/${method.method.name}`, method as UnaryMethodSpec);
      }
    }
  }

  /** Every unary method, keyed by its gRPC path `/package.Service/Method`. */
  methods(): ReadonlyMap<string, UnaryMethodSpec> {
    return this.specs;
  }

  /**
   * Runs the method in a context made from `call`, or in the one given (made
   * from the same call by a transport that aborts it itself). The context is
   * aborted with `callEnded` once the method has answered.
   */
  async invoke(spec: UnaryMethodSpec, input: unknown, call: UnaryCall, context: CallContext = createCallContext(spec.method, call)) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the spec's message types are erased in the map
      const message = await invokeUnaryImplementation(spec, context, input as any, this.interceptors);
      return { message, header: context.responseHeader, trailer: context.responseTrailer };
    } finally {
      context.abort(callEnded);
    }
  }
}

/** A handler context its transport aborts: when the client goes away, and once the call is over. */
export interface CallContext extends HandlerContext {
  abort(reason: unknown): void;
}

const deadlineExceeded = () => new ConnectError("the operation timed out", Code.DeadlineExceeded);

/**
 * The context of one call, as Connect's createHandlerContext makes it, but on
 * a single AbortController: the transport aborts it directly, and a timer
 * does only when the call has a deadline. Connect's links a deadline signal,
 * the request signal and its own with listeners on each, about a sixth of
 * the CPU time of a fast native gRPC call. A `call.signal` is still linked,
 * for transports that have one anyway.
 */
export function createCallContext(method: DescMethod, call: UnaryCall): CallContext {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let deadline: number | undefined;
  if (call.timeoutMs !== undefined) {
    deadline = Date.now() + call.timeoutMs;
    if (call.timeoutMs <= 0) controller.abort(deadlineExceeded());
    else timer = setTimeout(() => controller.abort(deadlineExceeded()), call.timeoutMs);
  }
  if (call.signal?.aborted) controller.abort(call.signal.reason);
  else call.signal?.addEventListener("abort", () => controller.abort(call.signal!.reason), { once: true, signal: controller.signal });
  return {
    service: method.parent,
    method,
    protocolName: call.protocolName,
    requestMethod: call.requestMethod,
    url: call.url,
    requestHeader: call.requestHeader,
    responseHeader: new Headers(),
    responseTrailer: new Headers(),
    signal: controller.signal,
    timeoutMs: () => (deadline === undefined ? undefined : deadline - Date.now()),
    values: createContextValues().set(protocolKey, call.protocolName),
    abort(reason) {
      clearTimeout(timer);
      controller.abort(reason);
    },
  };
}
