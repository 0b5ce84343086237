import { create, type DescMethod, type DescMethodUnary, type DescService, type Message } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextKey,
  createContextValues,
  createServiceImplSpec,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
  type ServiceImpl,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { replayedResponseKey } from "../../service/idempotency.js";

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

type UnaryFn = (request: UnaryRequest) => Promise<UnaryResponse>;

/**
 * Runs unary methods through the same interceptor chain and implementation
 * that Connect's router uses, for transports that decode requests themselves
 * (the REST transcoder and the native gRPC server). One code path for business
 * logic, whatever the protocol.
 *
 * Each method's chain is built once, here, rather than on every call as
 * Connect's invokeUnaryImplementation does: the implementation at its end
 * finds the call's context in the request's context values (`callContextKey`).
 */
export class UnaryInvoker {
  private readonly specs = new Map<string, UnaryMethodSpec>();
  private readonly chains = new Map<UnaryMethodSpec, UnaryFn>();

  constructor(services: readonly ServiceRegistration[], interceptors: readonly Interceptor[]) {
    for (const { service, impl } of services) {
      const spec = createServiceImplSpec(service, impl);
      for (const method of Object.values(spec.methods)) {
        if (method.kind !== "unary") continue;
        const unary = method as UnaryMethodSpec;
        this.specs.set(`/${service.typeName}/${method.method.name}`, unary);
        this.chains.set(unary, interceptors.reduceRight<UnaryFn>((next, interceptor) => interceptor(next as Parameters<Interceptor>[0]) as UnaryFn, implementationOf(unary)));
      }
    }
  }

  /** Every unary method, keyed by its gRPC path `/package.Service/Method`. */
  methods(): ReadonlyMap<string, UnaryMethodSpec> {
    return this.specs;
  }

  /**
   * Runs the method in a context made from `call`, or in the one given (made
   * by createCallContext from the same call, by a transport that aborts it
   * itself). The context is aborted with `callEnded` once the method has answered.
   */
  async invoke(spec: UnaryMethodSpec, input: unknown, call: UnaryCall, context: CallContext = createCallContext(spec.method, call)) {
    try {
      const chain = this.chains.get(spec);
      if (!chain) throw new Error(`${spec.method.parent.typeName}.${spec.method.name} is not a method of this invoker`);
      const request = requestOf(spec, input, context);
      const response = await chain(request);
      copyHeaders(response.header, context.responseHeader);
      copyHeaders(response.trailer, context.responseTrailer);
      return { message: response.message, header: context.responseHeader, trailer: context.responseTrailer };
    } finally {
      context.abort(callEnded);
    }
  }
}

/** The request the chain starts from, as Connect's invokeUnaryImplementation makes it; its signal is made only if read. */
function requestOf(spec: UnaryMethodSpec, input: unknown, context: CallContext): UnaryRequest {
  const request: UnaryRequest = {
    stream: false,
    // The spec's message types are erased in the map.
    message: input as UnaryRequest["message"],
    method: spec.method,
    requestMethod: context.requestMethod,
    url: context.url,
    get signal() {
      return context.signal;
    },
    header: context.requestHeader,
    service: spec.method.parent,
    contextValues: context.values,
  };
  callStateOf(context).request = request;
  return request;
}

/** The end of a method's chain: its implementation, in the context of the call the request belongs to. */
function implementationOf(spec: UnaryMethodSpec): UnaryFn {
  const { method } = spec;
  return async (request) => {
    const state = request.contextValues.get(callContextKey);
    if (!state) throw new Error("the call has no context: run it through UnaryInvoker.invoke");
    const { context } = state;
    // The implementation sees what the interceptors made of the request, as with Connect's own invocation.
    const handlerContext =
      request === state.request
        ? context
        : { ...context, service: request.service, requestHeader: request.header, signal: request.signal, values: request.contextValues };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the spec's message types are erased in the map
    const output = await spec.impl(request.message as any, handlerContext);
    return {
      stream: false,
      message: create(method.output, output),
      method,
      service: method.parent,
      header: context.responseHeader,
      trailer: context.responseTrailer,
    };
  };
}

function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  for (const key of [...to.keys()]) to.delete(key);
  from.forEach((value, key) => to.set(key, value));
}

/** A handler context its transport aborts: when the client goes away, and once the call is over. */
export interface CallContext extends HandlerContext {
  abort(reason: unknown): void;
  /**
   * Calls `listener` with the reason the call is aborted with, once it is (at
   * once if it already is). Unlike a listener on `signal`, it makes no signal.
   */
  onAbort(listener: (reason: unknown) => void): void;
  /** Aborts the call with `reason()` after `ms`, unless its own deadline comes first. */
  limit(ms: number, reason: () => unknown): void;
}

/** A call's context and the request its chain started from, in the call's context values. */
interface CallState {
  readonly context: CallContext;
  request?: UnaryRequest;
}

/**
 * The state of a call made by createCallContext, in its context values: how
 * a chain built once reaches the call it runs, and how the deadline
 * interceptor bounds it without a signal.
 */
export const callContextKey = createContextKey<CallState | undefined>(undefined, { description: "context of the call" });

function callStateOf(context: CallContext): CallState {
  return context.values.get(callContextKey)!;
}

/** The call's context, when a transport of ours made it (createCallContext). */
export function callContextOf(values: ContextValues): CallContext | undefined {
  return values.get(callContextKey)?.context;
}

const deadlineExceeded = () => new ConnectError("the operation timed out", Code.DeadlineExceeded);

function expire(context: CallContext, reason: () => unknown): void {
  context.abort(reason());
}

/**
 * The context of one call, as Connect's createHandlerContext makes it, but
 * the transport aborts it directly, a timer does only when the call has a
 * deadline, and its AbortController is made only when someone reads
 * `signal`: most calls finish without anyone asking, and making a signal
 * with its listeners costs a good part of a fast call's CPU time. A
 * `call.signal` is still followed, for transports that have one anyway.
 */
export function createCallContext(method: DescMethod, call: UnaryCall): CallContext {
  let controller: AbortController | undefined;
  let aborted = false;
  let abortReason: unknown;
  let listeners: ((reason: unknown) => void)[] | undefined;
  let timer: NodeJS.Timeout | undefined;
  let deadline: number | undefined;
  let unfollow: (() => void) | undefined;
  const context: CallContext = {
    service: method.parent,
    method,
    protocolName: call.protocolName,
    requestMethod: call.requestMethod,
    url: call.url,
    requestHeader: call.requestHeader,
    responseHeader: new Headers(),
    responseTrailer: new Headers(),
    get signal() {
      if (!controller) {
        controller = new AbortController();
        if (aborted) controller.abort(abortReason);
      }
      return controller.signal;
    },
    timeoutMs: () => (deadline === undefined ? undefined : deadline - Date.now()),
    values: createContextValues(),
    abort(reason) {
      if (aborted) return;
      aborted = true;
      abortReason = reason;
      clearTimeout(timer);
      unfollow?.();
      controller?.abort(reason);
      if (listeners) for (const listener of listeners) listener(reason);
    },
    onAbort(listener) {
      if (aborted) listener(abortReason);
      else (listeners ??= []).push(listener);
    },
    limit(ms, reason) {
      if (aborted || (deadline !== undefined && deadline - Date.now() <= ms)) return;
      clearTimeout(timer);
      timer = setTimeout(expire, ms, context, reason);
    },
  };
  context.values.set(protocolKey, call.protocolName).set(callContextKey, { context });
  if (call.timeoutMs !== undefined) {
    deadline = Date.now() + call.timeoutMs;
    if (call.timeoutMs <= 0) context.abort(deadlineExceeded());
    else timer = setTimeout(expire, call.timeoutMs, context, deadlineExceeded);
  }
  const { signal } = call;
  if (signal?.aborted) context.abort(signal.reason);
  else if (signal) {
    const follow = () => context.abort(signal.reason);
    signal.addEventListener("abort", follow, { once: true });
    unfollow = () => signal.removeEventListener("abort", follow);
  }
  return context;
}
