import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { exportJWK, generateKeyPair, importJWK, type JSONWebKeySet, type JWK, SignJWT } from "jose";

export const devIssuer = "cart-service-dev";

export interface DevelopmentAuth {
  readonly jwks: JSONWebKeySet;
  /** Signs a token for `subject` with the given scopes, valid for `ttlSeconds`. */
  sign(subject: string, scope: string, audience: string, ttlSeconds: number): Promise<string>;
}

/**
 * The signing key of development mode (no JWKS configured). It is kept in the
 * data directory, so tokens printed by one start keep working after a restart
 * and in every worker process.
 */
export async function loadDevelopmentAuth(dataDir: string): Promise<DevelopmentAuth> {
  const keyFile = path.join(dataDir, "dev-signing-key.json");
  if (!existsSync(keyFile)) {
    const { privateKey } = await generateKeyPair("EdDSA", { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: `dev-${Date.now().toString(36)}`, alg: "EdDSA" };
    mkdirSync(dataDir, { recursive: true });
    try {
      writeFileSync(keyFile, JSON.stringify(jwk), { mode: 0o600, flag: "wx" });
    } catch (error) {
      // Another worker created it first; use theirs.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  const privateJwk = JSON.parse(readFileSync(keyFile, "utf8")) as JWK;
  const { d: _secret, ...publicJwk } = privateJwk;
  const key = await importJWK(privateJwk, "EdDSA");
  return {
    jwks: { keys: [publicJwk] },
    sign: (subject, scope, audience, ttlSeconds) =>
      new SignJWT({ scope })
        .setProtectedHeader({ alg: "EdDSA", kid: privateJwk.kid! })
        .setIssuer(devIssuer)
        .setAudience(audience)
        .setSubject(subject)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(key),
  };
}
