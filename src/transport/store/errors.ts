import { Code, ConnectError } from "@connectrpc/connect";

/** The body of every failed /store call, as Medusa's error handler writes it. */
export interface StoreErrorBody {
  readonly code?: string;
  readonly type?: string;
  readonly message: string;
  /** Only on Medusa's refusals of a request body as a whole (a sales channel the publishable key does not have). */
  readonly errors?: readonly string[];
}

/** A refusal on the /store surface: its HTTP status and Medusa's `{type, message}` (and `code`) body. */
export class StoreError extends Error {
  constructor(
    readonly status: number,
    readonly body: StoreErrorBody,
  ) {
    super(body.message);
    this.name = "StoreError";
  }

  static invalidData(message: string): StoreError {
    return new StoreError(400, { type: "invalid_data", message });
  }

  static notAllowed(message: string): StoreError {
    return new StoreError(400, { type: "not_allowed", message });
  }

  static notFound(message: string): StoreError {
    return new StoreError(404, { type: "not_found", message });
  }

  /** Routes that need a signed-in customer answer exactly this, as Medusa's authentication middleware does. */
  static unauthorized(): StoreError {
    return new StoreError(401, { message: "Unauthorized" });
  }
}

export const unknownError = new StoreError(500, { code: "unknown_error", type: "unknown_error", message: "An unknown error occurred." });

/** Medusa answers every conflict with this one message, whatever the cause. */
const conflict = new StoreError(409, {
  code: "invalid_state_error",
  type: "conflict",
  message: "The request conflicted with another request. You may retry the request with the provided Idempotency-Key.",
});

/** What a failed call was about, for the messages that name it. */
export interface CallSubject {
  readonly cartId?: string;
  readonly lineId?: string;
  /** GET /store/carts/{id} words a missing cart differently from the mutations. */
  readonly retrieve?: boolean;
  /** POST …/shipping-methods: every refused option reads as Medusa's one message. */
  readonly shippingOption?: boolean;
  readonly orderId?: string;
  readonly regionId?: string;
}

/**
 * Medusa's answer for a refusal of the service. The common cases get
 * Medusa's exact messages (missing cart, line, promotion code, completed
 * cart, refused shipping option, incomplete cart); every other refusal keeps
 * the service's own readable message under Medusa's type and status.
 */
export function storeErrorOf(error: ConnectError, subject: CallSubject): StoreError {
  const message = error.rawMessage;
  switch (error.code) {
    case Code.NotFound:
    case Code.PermissionDenied: {
      if (subject.lineId && /has no line item/.test(message)) {
        return StoreError.notFound(`Line item with id: ${subject.lineId} was not found`);
      }
      const unknownProduct = /^product (\S+) does not exist/.exec(message);
      if (unknownProduct) return StoreError.invalidData(`Variants ${unknownProduct[1]} do not exist or belong to a product that is not published`);
      const unknownCode = /promotion code "([^"]+)" does not exist/.exec(message);
      if (unknownCode) return StoreError.invalidData(`The promotion code ${unknownCode[1]} is invalid`);
      if (subject.shippingOption && /shipping option/.test(message)) return StoreError.invalidData("Shipping Options are invalid for cart.");
      if (subject.cartId && /^cart /.test(message)) {
        return StoreError.notFound(subject.retrieve ? `Cart with id '${subject.cartId}' not found` : `Cart id not found: ${subject.cartId}`);
      }
      if (subject.orderId && /^order /.test(message)) return StoreError.notFound(`Order with id: ${subject.orderId} was not found`);
      if (subject.regionId && /^region /.test(message)) return StoreError.notFound(`Region with id: ${subject.regionId} was not found`);
      return StoreError.notFound(message);
    }
    case Code.FailedPrecondition: {
      if (/ is completed and can no longer be changed$/.test(message) && subject.cartId) {
        return StoreError.invalidData(`Cart ${subject.cartId} is already completed.`);
      }
      if (subject.shippingOption && /cannot ship with option/.test(message)) return StoreError.invalidData("Shipping Options are invalid for cart.");
      const incomplete = /cannot be completed: (.*)$/.exec(message)?.[1];
      if (incomplete?.startsWith("it has no line items")) return StoreError.invalidData("Cannot complete a cart with no items");
      if (incomplete && /(^|; )it has no shipping method/.test(incomplete)) {
        return StoreError.invalidData("No shipping method selected but the cart contains items that require shipping.");
      }
      return StoreError.invalidData(message);
    }
    case Code.InvalidArgument:
    case Code.OutOfRange: {
      const currency = /^currency (\w+) is not the currency of region \S+ \((\w+)\)/.exec(message);
      if (currency) {
        return StoreError.invalidData(`Currency code ${currency[1]!.toLowerCase()} does not match the region's currency code ${currency[2]!.toLowerCase()}`);
      }
      return StoreError.invalidData(message);
    }
    case Code.Aborted:
    case Code.AlreadyExists:
      return conflict;
    case Code.Unauthenticated:
      return StoreError.unauthorized();
    case Code.ResourceExhausted:
      return new StoreError(429, { type: "not_allowed", message });
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return new StoreError(503, { code: "api_error", type: "unexpected_state", message });
    default:
      return unknownError;
  }
}

/** Any failure as the answer to send: a StoreError as is, a service refusal mapped, anything else the unknown error. */
export function asStoreError(reason: unknown, subject: CallSubject): StoreError {
  if (reason instanceof StoreError) return reason;
  if (reason instanceof ConnectError) {
    // Refusals of the HTTP layer (a body over the size limit: 413) keep their status.
    const { status } = reason as ConnectError & { status?: number };
    if (typeof status === "number") return new StoreError(status, { type: "invalid_data", message: reason.rawMessage });
    return storeErrorOf(reason, subject);
  }
  return unknownError;
}
