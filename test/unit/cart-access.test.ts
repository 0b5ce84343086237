import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { Cart, CartSummary } from "../../src/domain/cart.js";
import { CartAccess } from "../../src/service/access.js";
import type { Principal } from "../../src/service/principal.js";

const customerScopes = new Set(["carts:read", "carts:write", "carts:checkout"]);
const anonymous: Principal = { subject: "", scopes: customerScopes, storefront: true };
const ann: Principal = { subject: "ann", scopes: customerScopes, storefront: true };
const annToken: Principal = { subject: "ann", scopes: customerScopes };

const cartOf = (customerId: string) => ({ id: "c1", customerId }) as CartSummary;

function refusal(run: () => unknown): ConnectError {
  try {
    run();
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("allowed");
}

describe("CartAccess for storefront callers", () => {
  it("lets anyone holding a guest cart's id see it, and only its owner a registered customer's cart", () => {
    const guest = cartOf("guest:1");
    expect(new CartAccess(anonymous).visible("c1", guest)).toBe(guest);
    expect(new CartAccess(ann).visible("c1", guest)).toBe(guest);
    expect(new CartAccess(ann).visible("c1", cartOf("ann")).customerId).toBe("ann");
    for (const principal of [anonymous, ann]) {
      const error = refusal(() => new CartAccess(principal).visible("c1", cartOf("bob")));
      expect([error.code, error.rawMessage]).toEqual([Code.NotFound, "cart c1 does not exist"]);
      // The same answer as for a cart that does not exist.
      const missing = refusal(() => new CartAccess(principal).visible("c1", undefined));
      expect([missing.code, missing.rawMessage]).toEqual([error.code, error.rawMessage]);
    }
  });

  it("answers a payment collection of a cart the caller may not see as a missing collection, naming no cart", () => {
    const withCollection = (customerId: string) => ({ ...cartOf(customerId), paymentCollection: { id: "pc1" } }) as Cart;
    const missing = () => new ConnectError("payment collection pc1 does not exist", Code.NotFound);
    const own = withCollection("ann");
    expect(new CartAccess(ann).collectionCart("pc1", own, missing)).toBe(own);
    const guest = withCollection("guest:1");
    expect(new CartAccess(anonymous).collectionCart("pc1", guest, missing)).toBe(guest);
    for (const principal of [anonymous, ann, annToken]) {
      for (const cart of [withCollection("bob"), undefined, cartOf("ann") as Cart]) {
        const error = refusal(() => new CartAccess(principal).collectionCart("pc1", cart, missing));
        expect([error.code, error.rawMessage]).toEqual([Code.NotFound, "payment collection pc1 does not exist"]);
      }
    }
  });

  it("keeps customer tokens outside the storefront to their own carts, as before", () => {
    expect(refusal(() => new CartAccess(annToken).visible("c1", cartOf("guest:1"))).code).toBe(Code.PermissionDenied);
  });

  it("lets anonymous callers create only guest carts and transfer nothing; customers act for themselves", () => {
    expect(() => new CartAccess(anonymous).checkOwner("guest:abc")).not.toThrow();
    expect(refusal(() => new CartAccess(anonymous).checkOwner("ann")).code).toBe(Code.PermissionDenied);
    expect(refusal(() => new CartAccess(anonymous).checkOwner("guest:abc", "transfer carts to")).code).toBe(Code.PermissionDenied);
    expect(() => new CartAccess(ann).checkOwner("ann", "transfer carts to")).not.toThrow();
    expect(refusal(() => new CartAccess(ann).checkOwner("guest:abc")).code).toBe(Code.PermissionDenied);
  });
});
