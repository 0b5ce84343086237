import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { shopperMessage } from "../../src/storefront/shopper-messages.js";

const cartId = "01a24624-1b9a-7000-864d-24b0da8389a1";
const say = (code: Code, message: string) => shopperMessage(new ConnectError(message, code));

describe("the demo storefront's refusals, in a shopper's words", () => {
  it.each([
    [Code.FailedPrecondition, `cart ${cartId} cannot be completed: it has no email; it has no shipping method`, "Before placing the order, please enter your email and choose a shipping option."],
    [Code.FailedPrecondition, `cart ${cartId} cannot be completed: promotion code "ONCE" has reached its limit of 1 uses`, "The order cannot be placed: the code ONCE has reached its limit of 1 uses."],
    [
      Code.FailedPrecondition,
      `cart ${cartId} cannot be completed: it has no line items; it has no email; it has no shipping address; product tee now costs 21.50 USD per unit, not 20.00 USD as the cart shows (update the line to take the new price)`,
      "Before placing the order, please add something to your cart, enter your email and enter a shipping address. The order cannot be placed either: product tee now costs 21.50 USD per unit, not 20.00 USD as your cart shows (update the line to take the new price).",
    ],
    [Code.NotFound, 'promotion code "NOPE" does not exist', "The code NOPE is not valid."],
    [Code.FailedPrecondition, 'promotion code "FREESHIP" needs an item subtotal of at least 20.00 USD; the cart has 12.99 USD', "The code FREESHIP needs an item subtotal of at least 20.00 USD; your cart has 12.99 USD."],
    [Code.FailedPrecondition, "quantity 100000 of product mug-classic exceeds the maximum of 10000 per line", "You can order at most 10000 of one product."],
    [Code.FailedPrecondition, `cart ${cartId} is completed and can no longer be changed`, "Your cart is completed and can no longer be changed."],
    [Code.InvalidArgument, "quantity: must be greater than or equal to 0 and less than or equal to 1000000 [int32.gte_lte]", "Please enter a quantity of 1 or more."],
    [Code.InvalidArgument, "cart.email: must be a valid email address [string.email]", "Please enter a valid email address, like ada@example.com."],
    [Code.InvalidArgument, "cart.shipping_address.country: does not match regex pattern `^[A-Z]{2}$` [string.pattern]", "Please enter the country as its two-letter code, like US or DE."],
    [Code.Aborted, `cart ${cartId} has changed: etag "3" is not current`, "Your cart was changed somewhere else, so it now shows its latest state. Please try again."],
    [Code.Unavailable, "the database is unavailable; retry later", "The shop cannot be reached right now. Please try again in a moment."],
    [Code.PermissionDenied, `cart ${cartId} does not exist or is not accessible with this token`, "Your session has ended. Please reload the page."],
  ])("%s %s", (code, message, expected) => {
    expect(say(code, message)).toBe(expected);
  });
});
