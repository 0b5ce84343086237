import { readFileSync } from "node:fs";
import { getOption, hasOption } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";
import { actingPrincipal } from "../../service/cart-events.js";
import { isValidSubject, maxSubjectLength, principalKey, type Principal } from "../../service/principal.js";
import { access } from "../../../gen/commerce/cart/v1/access_pb.js";

/** Asymmetric algorithms only: never `none`, never HMAC (a public key must not double as a shared secret). */
const allowedAlgorithms = ["RS256", "ES256", "EdDSA"];

export interface TokenVerifierOptions {
  readonly keys: JWTVerifyGetKey;
  readonly issuer: string;
  readonly audience: string;
  readonly clockToleranceSeconds: number;
}

/** Where the verification keys come from: a JWKS document on disk or at an HTTPS URL (fetched lazily, cached). */
export function jwksFrom(source: string | JSONWebKeySet): JWTVerifyGetKey {
  if (typeof source !== "string") return createLocalJWKSet(source);
  if (/^https?:\/\//.test(source)) {
    return createRemoteJWKSet(new URL(source), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 });
  }
  return createLocalJWKSet(JSON.parse(readFileSync(source, "utf8")) as JSONWebKeySet);
}

function unauthenticated(reason: string): ConnectError {
  return new ConnectError(`authentication failed: ${reason}`, Code.Unauthenticated);
}

/** A readable reason for a rejected token; never the token itself. */
function describeTokenError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "the token has expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    return error.claim === "nbf"
      ? "the token is not valid yet"
      : `the token's "${error.claim}" claim is ${error.reason === "missing" ? "missing" : "not accepted"}`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return `tokens must be signed with one of ${allowedAlgorithms.join(", ")}`;
  if (error instanceof errors.JWKSNoMatchingKey) return "no trusted key matches the token's key id";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "the token's signature is not valid";
  if (error instanceof errors.JWKSTimeout) return "the signing keys could not be fetched in time";
  return "the token is malformed";
}

/** Verified tokens remembered at most; beyond it the oldest are forgotten. */
const verifiedTokenCacheSize = 10_000;

/**
 * Verifies bearer tokens: signature against the JWKS, algorithm allow-list,
 * iss, aud, exp/nbf, sub. A verified token is remembered until it expires, so
 * a client's repeated calls pay the signature check once (it costs more CPU
 * than a cart read); a key removed from the JWKS therefore stops working only
 * as its tokens expire.
 */
export function createTokenVerifier(options: TokenVerifierOptions, now: () => number = Date.now) {
  const verified = new Map<string, { principal: Principal; expiresAtMs: number }>();
  return async (token: string): Promise<Principal> => {
    const cached = verified.get(token);
    if (cached && now() < cached.expiresAtMs) return cached.principal;
    verified.delete(token);
    try {
      const { payload } = await jwtVerify(token, options.keys, {
        algorithms: allowedAlgorithms,
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: options.clockToleranceSeconds,
        currentDate: new Date(now()),
        requiredClaims: ["sub", "exp"],
      });
      if (!isValidSubject(payload.sub)) {
        throw unauthenticated(`the token's "sub" claim must be a non-empty string of at most ${maxSubjectLength} characters without control characters`);
      }
      const scope = typeof payload.scope === "string" ? payload.scope : "";
      const principal: Principal = { subject: payload.sub, scopes: new Set(scope.split(" ").filter(Boolean)) };
      // Only tokens already valid now are remembered: one that is not valid yet (within the tolerance) is checked again.
      if (payload.nbf === undefined || payload.nbf * 1000 <= now()) {
        if (verified.size >= verifiedTokenCacheSize) verified.delete(verified.keys().next().value!);
        verified.set(token, { principal, expiresAtMs: payload.exp! * 1000 + options.clockToleranceSeconds * 1000 });
      }
      return principal;
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      if (error instanceof errors.JWKSTimeout) {
        throw new ConnectError("authentication is temporarily unavailable", Code.Unavailable);
      }
      throw unauthenticated(describeTokenError(error));
    }
  };
}

/**
 * Authenticates every call and enforces the method's declared scope, read
 * from its `(commerce.cart.v1.access)` option. Methods of our package without
 * an access rule are refused (fail closed); services listed as public (health,
 * reflection) need no token. The principal is handed to the handlers through
 * the context values, and to the events their changes write (actingPrincipal).
 */
export function createAuthInterceptor(
  verify: (token: string) => Promise<Principal>,
  publicServices: ReadonlySet<string>,
): Interceptor {
  return (next) => async (request) => {
    if (publicServices.has(request.service.typeName)) return next(request);
    if (!hasOption(request.method, access)) {
      throw new ConnectError(`${request.method.name} declares no access rule`, Code.PermissionDenied);
    }
    const rule = getOption(request.method, access);
    // A transport of this process (the storefront surface) may have established the caller itself.
    let principal = request.contextValues.get(principalKey);
    if (!principal) {
      const match = /^Bearer ([^\s]+)$/i.exec(request.header.get("authorization") ?? "");
      if (!match) throw unauthenticated("send an OAuth bearer token: Authorization: Bearer <JWT>");
      principal = await verify(match[1]!);
      // Set before the scope check, so that the log line of a refusal names the caller too.
      request.contextValues.set(principalKey, principal);
    }
    if (rule.scope !== "" && !principal.scopes.has(rule.scope)) {
      throw new ConnectError(`this call needs the "${rule.scope}" scope, which the token does not grant`, Code.PermissionDenied);
    }
    return actingPrincipal.run(principal, () => next(request));
  };
}
