import { Code, ConnectError } from "@connectrpc/connect";
import type { Cart } from "../domain/cart.js";
import { isCustomer, type Principal } from "./principal.js";

/**
 * Per-customer authorization of cart access. A customer token sees only carts
 * whose customer_id is its `sub`. A foreign cart and a missing one give the
 * customer the same PERMISSION_DENIED answer, so ids cannot be probed for
 * existence; callers with carts:admin get NOT_FOUND for missing carts.
 */
export class CartAccess {
  constructor(private readonly principal: Principal | undefined) {}

  private denied(cartId: string): ConnectError {
    return new ConnectError(`cart ${cartId} does not exist or is not accessible with this token`, Code.PermissionDenied);
  }

  /** The cart if the caller may see it; otherwise the error to answer with. */
  visible(cartId: string, cart: Cart | undefined): Cart {
    if (isCustomer(this.principal)) {
      if (!cart || cart.customerId !== this.principal.subject) throw this.denied(cartId);
      return cart;
    }
    if (!cart) throw new ConnectError(`cart ${cartId} does not exist`, Code.NotFound);
    return cart;
  }

  /** Customers may create carts only for themselves. */
  checkOwner(customerId: string): void {
    if (isCustomer(this.principal) && customerId !== this.principal.subject) {
      throw new ConnectError(
        `a customer token may only create carts for its own customer_id (${this.principal.subject})`,
        Code.PermissionDenied,
      );
    }
  }

  /** The customer filter of ListCarts: customers list their own carts, whatever they asked for. */
  listFilter(customerId: string): string | undefined {
    if (!isCustomer(this.principal)) return customerId || undefined;
    if (customerId !== "" && customerId !== this.principal.subject) {
      throw new ConnectError(
        `a customer token may only list its own carts (customer_id ${this.principal.subject})`,
        Code.PermissionDenied,
      );
    }
    return this.principal.subject;
  }
}
