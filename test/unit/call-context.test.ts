import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { callEnded, createCallContext, type UnaryCall } from "../../src/transport/protocols/services.js";

const call: UnaryCall = { protocolName: "grpc", requestMethod: "POST", url: "http://test/grpc.health.v1.Health/Check", requestHeader: new Headers() };

describe("createCallContext", () => {
  it("describes the call and keeps the first reason it is aborted with", () => {
    const context = createCallContext(Health.method.check, call);
    expect(context).toMatchObject({ service: Health, method: Health.method.check, protocolName: "grpc", url: call.url });
    expect(context.timeoutMs()).toBeUndefined();
    expect(context.signal.aborted).toBe(false);
    const cancelled = new ConnectError("cancelled", Code.Canceled);
    context.abort(cancelled);
    // A transport may abort again once the call is over: the reason stays the first.
    context.abort(callEnded);
    expect(context.signal.reason).toBe(cancelled);
  });

  it("aborts with DEADLINE_EXCEEDED at once for a deadline already past", () => {
    const context = createCallContext(Health.method.check, { ...call, timeoutMs: 0 });
    expect(context.signal.aborted).toBe(true);
    expect(ConnectError.from(context.signal.reason).code).toBe(Code.DeadlineExceeded);
  });

  it("follows the request signal it is given", () => {
    const request = new AbortController();
    const context = createCallContext(Health.method.check, { ...call, signal: request.signal, timeoutMs: 5_000 });
    expect(context.timeoutMs()).toBeLessThanOrEqual(5_000);
    request.abort("gone");
    expect(context.signal.reason).toBe("gone");
    context.abort(callEnded); // stops the deadline timer
  });
});
