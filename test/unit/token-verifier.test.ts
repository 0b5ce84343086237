import { Code, ConnectError } from "@connectrpc/connect";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { createTokenVerifier, jwksFrom } from "../../src/transport/interceptors/auth.js";

const { publicKey, privateKey } = await generateKeyPair("ES256");
const keys = jwksFrom({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] });
const start = Date.parse("2030-01-01T00:00:00Z");

function sign(claims: { exp: number; nbf?: number; sub?: unknown }): Promise<string> {
  return new SignJWT({ scope: "carts:read carts:write", sub: "customer-1", ...claims } as JWTPayload)
    .setProtectedHeader({ alg: "ES256", kid: "k1" })
    .setIssuer("https://issuer.test")
    .setAudience("cart-service")
    .sign(privateKey);
}

async function codeOf(promise: Promise<unknown>): Promise<Code | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error).code,
  );
}

describe("token verifier", () => {
  it("remembers a verified token until it expires, then refuses it", async () => {
    let now = start;
    const verify = createTokenVerifier(
      { keys, issuer: "https://issuer.test", audience: "cart-service", clockToleranceSeconds: 30 },
      () => now,
    );
    const token = await sign({ exp: start / 1000 + 60 });
    expect(await verify(token)).toEqual({ subject: "customer-1", scopes: new Set(["carts:read", "carts:write"]) });
    now = start + 60_000 + 29_000; // expired, but within the clock tolerance
    expect((await verify(token)).subject).toBe("customer-1");
    now = start + 60_000 + 31_000;
    expect(await codeOf(verify(token))).toBe(Code.Unauthenticated);
  });

  it("checks a not-yet-valid token again instead of remembering it", async () => {
    let now = start;
    const verify = createTokenVerifier(
      { keys, issuer: "https://issuer.test", audience: "cart-service", clockToleranceSeconds: 30 },
      () => now,
    );
    const token = await sign({ nbf: start / 1000 + 20, exp: start / 1000 + 600 });
    expect((await verify(token)).subject).toBe("customer-1"); // within the tolerance
    now = start - 60_000;
    expect(await codeOf(verify(token))).toBe(Code.Unauthenticated);
  });

  it("never lets a tampered copy of a remembered token through", async () => {
    const verify = createTokenVerifier(
      { keys, issuer: "https://issuer.test", audience: "cart-service", clockToleranceSeconds: 30 },
      () => start,
    );
    const token = await sign({ exp: start / 1000 + 60 });
    await verify(token);
    const [header, payload, signature] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, "base64url").toString()), sub: "admin" }));
    expect(await codeOf(verify(`${header}.${forged.toString("base64url")}.${signature}`))).toBe(Code.Unauthenticated);
  });

  it.each([
    ["a number", 42],
    ["true", true],
    ["an object", { id: "customer-1" }],
    ["empty", ""],
    ["257 characters", "c".repeat(257)],
    ["a NUL character", "customer\u00001"],
    ["a line feed", "customer\n1"],
    ["a lone surrogate", "customer\ud8001"],
  ])("refuses a sub that is %s, naming the claim", async (_, sub) => {
    const verify = createTokenVerifier(
      { keys, issuer: "https://issuer.test", audience: "cart-service", clockToleranceSeconds: 30 },
      () => start,
    );
    const error = await verify(await sign({ sub, exp: start / 1000 + 60 })).then(
      () => undefined,
      (refusal: unknown) => ConnectError.from(refusal),
    );
    expect({ code: error?.code, message: error?.rawMessage }).toEqual({
      code: Code.Unauthenticated,
      message: expect.stringMatching(/"sub" claim must be a non-empty string of at most 256 characters/),
    });
  });

  it("accepts a sub of 256 characters, astral ones included", async () => {
    const verify = createTokenVerifier(
      { keys, issuer: "https://issuer.test", audience: "cart-service", clockToleranceSeconds: 30 },
      () => start,
    );
    const sub = `${"c".repeat(255)}😀`;
    expect((await verify(await sign({ sub, exp: start / 1000 + 60 }))).subject).toBe(sub);
  });
});
