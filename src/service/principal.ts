import { createContextKey, type HandlerContext } from "@connectrpc/connect";

/** The authenticated caller, as the authentication interceptor established it. */
export interface Principal {
  /** The token's `sub`: a customer id for customer tokens, a service name for internal callers. */
  readonly subject: string;
  readonly scopes: ReadonlySet<string>;
  /**
   * Set by the storefront surface for its callers: anonymous shoppers
   * (subject "") and signed-in customers. Guest carts are theirs by id; a
   * registered customer's cart is only its owner's (see CartAccess).
   */
  readonly storefront?: boolean;
}

export const adminScope = "carts:admin";

/** Longest subject accepted, as long as the longest customer id a cart may have. */
export const maxSubjectLength = 256;

/**
 * Whether a token's `sub` can name a caller: a non-empty string of at most
 * `maxSubjectLength` characters, well-formed Unicode without control
 * characters. Anything else (a number, `true`, a NUL character) would be
 * compared with customer ids or stored as one, unlike what the issuer meant.
 */
export function isValidSubject(sub: unknown): sub is string {
  // \p{Cs}: a lone surrogate, which JSON can carry and UTF-8 cannot.
  return typeof sub === "string" && sub !== "" && [...sub].length <= maxSubjectLength && !/[\p{Cc}\p{Cs}]/u.test(sub);
}

export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "authenticated caller" });

export function principalOf(context: HandlerContext): Principal | undefined {
  return context.values.get(principalKey);
}

/** A customer acts only on its own carts; a token with carts:admin acts for any customer. */
export function isCustomer(principal: Principal | undefined): principal is Principal {
  return principal !== undefined && !principal.scopes.has(adminScope);
}
