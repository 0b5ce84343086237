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

export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "authenticated caller" });

export function principalOf(context: HandlerContext): Principal | undefined {
  return context.values.get(principalKey);
}

/** A customer acts only on its own carts; a token with carts:admin acts for any customer. */
export function isCustomer(principal: Principal | undefined): principal is Principal {
  return principal !== undefined && !principal.scopes.has(adminScope);
}
