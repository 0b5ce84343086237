import { Code, ConnectError } from "@connectrpc/connect";
import { type Cart, type CartSummary, isGuestCart } from "../domain/cart.js";
import { isCustomer, type Principal } from "./principal.js";

/**
 * Per-customer authorization of cart access. A customer token sees only carts
 * whose customer_id is its `sub`. A foreign cart and a missing one give the
 * customer the same PERMISSION_DENIED answer, so ids cannot be probed for
 * existence; callers with carts:admin get NOT_FOUND for missing carts. The
 * storefront surface's callers also see guest carts, whose id is their key.
 */
export class CartAccess {
  constructor(private readonly principal: Principal | undefined) {}

  private denied(cartId: string): ConnectError {
    return new ConnectError(`cart ${cartId} does not exist or is not accessible with this token`, Code.PermissionDenied);
  }

  /** The cart if the caller may see it; otherwise the error to answer with. */
  visible(cartId: string, cart: Cart | undefined): Cart;
  visible(cartId: string, cart: CartSummary | undefined): CartSummary;
  visible(cartId: string, cart: CartSummary | undefined): CartSummary {
    if (isCustomer(this.principal)) {
      const own = cart !== undefined && (cart.customerId === this.principal.subject || (this.principal.storefront === true && isGuestCart(cart)));
      if (!own) throw this.denied(cartId);
      return cart;
    }
    if (!cart) throw new ConnectError(`cart ${cartId} does not exist`, Code.NotFound);
    return cart;
  }

  /**
   * A cart the caller may take over (TransferCart) or merge from (MergeCarts):
   * one it may see, or, for a customer, a guest cart, whose id is the guest's
   * only key to it. The domain refuses carts that are no longer active, so a
   * retried claim learns that the cart was already merged.
   */
  claimable(cartId: string, cart: Cart | undefined): Cart {
    if (isCustomer(this.principal) && cart && isGuestCart(cart)) return cart;
    return this.visible(cartId, cart);
  }

  /** Customers may create carts (or have them transferred) only for themselves; the storefront also creates guest carts. */
  checkOwner(customerId: string, action = "create carts for"): void {
    const guestOfStorefront = this.principal?.storefront === true && action === "create carts for" && isGuestCart({ customerId });
    if (isCustomer(this.principal) && customerId !== this.principal.subject && !guestOfStorefront) {
      throw new ConnectError(
        `a customer token may only ${action} its own customer_id (${this.principal.subject})`,
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
