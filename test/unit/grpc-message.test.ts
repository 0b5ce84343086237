import { describe, expect, it } from "vitest";
import { reencodeGrpcMessage } from "../../src/transport/protocols/grpc-message.js";

describe("reencodeGrpcMessage", () => {
  it("leaves printable ASCII other than '%' as it is", () => {
    const message = `customer_id: must be at least 1 characters [string.min_len]; see "docs", a+b=c/d?`;
    expect(reencodeGrpcMessage(encodeURIComponent(message))).toBe(message);
  });

  it("percent-encodes '%', control characters and UTF-8 bytes beyond ASCII", () => {
    expect(reencodeGrpcMessage(encodeURIComponent("50% off\nnow €"))).toBe("50%25 off%0Anow %E2%82%AC");
  });

  it("round-trips through decodeURIComponent and through the decodeURI that @grpc/grpc-js uses", () => {
    const message = "cart 1: 100% ünïcode; done, ok";
    const reencoded = reencodeGrpcMessage(encodeURIComponent(message));
    expect(decodeURIComponent(reencoded)).toBe(message);
    expect(decodeURI(reencoded)).toBe(message);
  });

  it("passes through a value that is not valid percent-encoding", () => {
    expect(reencodeGrpcMessage("100%")).toBe("100%");
  });
});
