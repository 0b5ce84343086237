import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { callContextOf } from "../protocols/services.js";

/**
 * Bounds the service's work on a unary call by the earlier of its deadline
 * and `maxTimeoutMs`, and answers DEADLINE_EXCEEDED when that bound is
 * reached. A deadline longer than `maxTimeoutMs` is no error: it is the
 * caller's patience, and the service simply gives up sooner. A call whose
 * client cancels or leaves is answered CANCELLED at once. Every transport
 * aborts the call's signal at the call's own deadline, with a
 * DEADLINE_EXCEEDED reason. Streaming calls (health Watch) last as long as
 * their client wants.
 */
export function createDeadlineInterceptor(maxTimeoutMs: number): Interceptor {
  const overLimit = () => new ConnectError(`the call did not finish within the service's limit of ${maxTimeoutMs} ms`, Code.DeadlineExceeded);
  return (next) => (request) => {
    if (request.stream) return next(request);
    // A call of our own transports is bounded through its context, which then needs no signal; the same
    // limit aborts the call, and the call's abort (its deadline, the client leaving) answers at once.
    const call = callContextOf(request.contextValues);
    if (call) {
      call.limit(maxTimeoutMs, overLimit);
      return new Promise((resolve, reject) => {
        call.onAbort((reason) => reject(ConnectError.from(reason, Code.Canceled)));
        next(request).then(resolve, reject);
      });
    }
    // Connect's router: its signal, and a timer of our own.
    const { signal } = request;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(overLimit()), maxTimeoutMs);
      onAbort = () => reject(ConnectError.from(signal.reason, Code.Canceled));
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    return Promise.race([next(request), bound]).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort!);
    });
  };
}
