import { Code, ConnectError } from "@connectrpc/connect";
import { type Cart, type CartSummary, guestCustomerPrefix, isGuestCart } from "../domain/cart.js";
import { isCustomer, type Principal } from "./principal.js";

/**
 * Per-customer authorization of cart access. A customer token sees only carts
 * whose customer_id is its `sub`. A foreign cart and a missing one give the
 * customer the same PERMISSION_DENIED answer, so ids cannot be probed for
 * existence; callers with carts:admin get NOT_FOUND for missing carts.
 * Storefront callers (Principal.storefront) also see guest carts, whose id is
 * a guest's only key to them, and get NOT_FOUND for a cart they may not see,
 * exactly as for a missing one.
 */
export class CartAccess {
  constructor(private readonly principal: Principal | undefined) {}

  private denied(cartId: string): ConnectError {
    return this.principal?.storefront
      ? new ConnectError(`cart ${cartId} does not exist`, Code.NotFound)
      : new ConnectError(`cart ${cartId} does not exist or is not accessible with this token`, Code.PermissionDenied);
  }

  /** The cart if the caller may see it; otherwise the error to answer with. */
  visible(cartId: string, cart: Cart | undefined): Cart;
  visible(cartId: string, cart: CartSummary | undefined): CartSummary;
  visible(cartId: string, cart: CartSummary | undefined): CartSummary {
    if (isCustomer(this.principal)) {
      if (!cart || !this.sees(cart)) throw this.denied(cartId);
      return cart;
    }
    if (!cart) throw new ConnectError(`cart ${cartId} does not exist`, Code.NotFound);
    return cart;
  }

  /** Whether the caller may see this (existing) cart. */
  private sees(cart: CartSummary): boolean {
    if (!isCustomer(this.principal)) return true;
    return cart.customerId === this.principal.subject || (this.principal.storefront === true && isGuestCart(cart));
  }

  /**
   * The cart that payment collection `collectionId` belongs to (`cart`: the
   * one found by it, undefined for none), if the caller may see that cart.
   * Otherwise `missing()`, the answer for a collection that does not exist,
   * whoever asks: a collection is reached by its own id, and one of a cart
   * the caller may not see must not tell that it exists, nor which cart it
   * belongs to (the cart's answer would name the cart).
   */
  collectionCart(collectionId: string, cart: Cart | undefined, missing: () => Error): Cart {
    if (!cart || cart.paymentCollection?.id !== collectionId || !this.sees(cart)) throw missing();
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

  /**
   * Customers may create carts (or have them transferred) only for
   * themselves; anonymous storefront callers only for guests.
   */
  checkOwner(customerId: string, action = "create carts for"): void {
    if (!isCustomer(this.principal) || customerId === this.principal.subject) return;
    if (this.principal.storefront && this.principal.subject === "") {
      if (customerId.startsWith(guestCustomerPrefix) && action === "create carts for") return;
      throw new ConnectError(
        `an anonymous caller may only ${action} a guest customer_id (starting with "${guestCustomerPrefix}")`,
        Code.PermissionDenied,
      );
    }
    throw new ConnectError(
      `a customer token may only ${action} its own customer_id (${this.principal.subject})`,
      Code.PermissionDenied,
    );
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
