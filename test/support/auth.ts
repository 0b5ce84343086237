import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";

/**
 * Test identity provider: key pairs of every allowed algorithm, a JWKS file
 * the server under test trusts, and tokens signed with them. Tokens default to
 * a valid customer or admin; tests override any claim or header.
 */

export const issuer = "https://issuer.test";
export const audience = "cart-service";

const keys = await Promise.all(
  (["ES256", "RS256", "EdDSA"] as const).map(async (alg) => {
    const pair = await generateKeyPair(alg, { extractable: true });
    return { alg, kid: `test-${alg}`, ...pair };
  }),
);
const jwksFile = path.join(mkdtempSync(path.join(os.tmpdir(), "cart-test-jwks-")), "jwks.json");
writeFileSync(
  jwksFile,
  JSON.stringify({
    keys: await Promise.all(keys.map(async (key) => ({ ...(await exportJWK(key.publicKey)), kid: key.kid, alg: key.alg }))),
  }),
);

/** Environment that makes the server trust this provider. */
export const authEnv: Record<string, string> = { AUTH_JWKS: jwksFile, AUTH_ISSUER: issuer, AUTH_AUDIENCE: audience };

export const allScopes = "carts:read carts:write carts:checkout carts:admin catalog:write orders:read";

export interface TokenOptions {
  sub?: string;
  scope?: string;
  alg?: "ES256" | "RS256" | "EdDSA";
  /** Claims to add or override (iss, aud, exp, nbf, …); `undefined` values remove the claim. */
  claims?: JWTPayload;
  kid?: string;
}

export async function token(options: TokenOptions = {}): Promise<string> {
  const key = keys.find((candidate) => candidate.alg === (options.alg ?? "ES256"))!;
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = {
    iss: issuer,
    aud: audience,
    sub: options.sub ?? "test-admin",
    scope: options.scope ?? allScopes,
    iat: now,
    exp: now + 3600,
    ...options.claims,
  };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid }).sign(key.privateKey);
}

/** A customer token for `customerId` with read and write scopes. */
export function customerToken(customerId: string): Promise<string> {
  return token({ sub: customerId, scope: "carts:read carts:write" });
}

/** An internal service's token with every scope. */
export const adminToken = await token();

/** The RSA public key in PEM, for forging HS256 "algorithm confusion" tokens. */
export const rsaPublicKey = keys.find((key) => key.alg === "RS256")!.publicKey;
