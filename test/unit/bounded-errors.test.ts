import { create } from "@bufbuild/protobuf";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { boundedError, maxErrorMessageBytes, truncateText } from "../../src/transport/protocols/bounded-errors.js";

function violations(count: number, key = "k", message = "is too long") {
  return create(ViolationsSchema, {
    violations: Array.from({ length: count }, () => ({
      field: { elements: [{ fieldName: "metadata", subscript: { case: "stringKey" as const, value: key } }] },
      ruleId: "string.max_len",
      message,
    })),
  });
}

describe("truncateText", () => {
  it("keeps short text, and cuts long text at a character boundary, saying how much is left out", () => {
    expect(truncateText("short", 100)).toBe("short");
    const cut = truncateText("é".repeat(1000), 100);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(100);
    expect(cut).toMatch(/^é+… \(\d+ more bytes\)$/);
    expect(cut).not.toContain("\uFFFD");
  });
});

describe("boundedError", () => {
  it("returns an error within bounds as it is", () => {
    const error = new ConnectError("customer_id: too short", Code.InvalidArgument, undefined, [{ desc: ViolationsSchema, value: violations(3) }]);
    expect(boundedError(error)).toBe(error);
  });

  it("cuts a long message, keeping the code, metadata and cause", () => {
    const cause = new Error("the cause");
    const error = new ConnectError("x".repeat(100_000), Code.InvalidArgument, { "x-request-id": "r1" }, undefined, cause);
    const bounded = boundedError(error);
    expect(Buffer.byteLength(bounded.rawMessage)).toBeLessThanOrEqual(maxErrorMessageBytes);
    expect(bounded.code).toBe(Code.InvalidArgument);
    expect(bounded.metadata.get("x-request-id")).toBe("r1");
    expect(bounded.cause).toBe(cause);
  });

  it("keeps the first violations within the details budget, shortening large ones", () => {
    const bounded = boundedError(
      new ConnectError("invalid", Code.InvalidArgument, undefined, [{ desc: ViolationsSchema, value: violations(500, "k".repeat(5000), "m".repeat(5000)) }]),
    );
    const [kept] = bounded.findDetails(ViolationsSchema);
    expect(kept!.violations.length).toBeGreaterThan(0);
    expect(kept!.violations.length).toBeLessThan(500);
    const first = kept!.violations[0]!;
    expect(first.message.length).toBeLessThan(300);
    expect(first.field?.elements[0]?.subscript.value).toMatch(/^k+… \(\d+ more bytes\)$/);
  });

  it("drops other details that do not fit", () => {
    const info = create(ErrorInfoSchema, { reason: "BIG", domain: "cart.commerce", metadata: { blob: "b".repeat(10_000) } });
    const bounded = boundedError(new ConnectError("refused", Code.FailedPrecondition, undefined, [{ desc: ErrorInfoSchema, value: info }]));
    expect(bounded.details).toEqual([]);
    expect(bounded.rawMessage).toBe("refused");
  });
});
