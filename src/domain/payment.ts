import { DomainError } from "./errors.js";
import type { Region } from "./store.js";

/**
 * How a cart is going to be paid: one collection per cart, whose amount and
 * currency follow the cart's total, holding at most one session with a
 * payment provider. The built-in "system" provider authorizes every session
 * when the cart is completed (the money moves elsewhere, or on delivery).
 */

export type PaymentSessionStatus = "pending" | "authorized";

export interface PaymentSession {
  readonly id: string;
  readonly providerId: string;
  readonly currency: string;
  /** Minor units: the collection's amount when the session was created. */
  readonly amount: bigint;
  readonly status: PaymentSessionStatus;
  readonly data: Readonly<Record<string, string>>;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface PaymentCollection {
  readonly id: string;
  readonly currency: string;
  /** Minor units: always the cart's total. */
  readonly amount: bigint;
  /** At most one. */
  readonly sessions: readonly PaymentSession[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface PaymentProvider {
  readonly id: string;
  readonly name: string;
}

export const systemPaymentProviderId = "system";

/** The providers this service can talk to, by id. */
export const paymentProviders: ReadonlyMap<string, PaymentProvider> = new Map([
  [systemPaymentProviderId, { id: systemPaymentProviderId, name: "System" }],
]);

/** The ids of the providers a region offers: its own list, or the system provider when it names none. */
export function regionPaymentProviderIds(region: Pick<Region, "paymentProviderIds">): readonly string[] {
  return region.paymentProviderIds.length > 0 ? region.paymentProviderIds : [systemPaymentProviderId];
}

/** Refuses provider ids this service does not know (a region may name only those). */
export function checkPaymentProviderIds(ids: readonly string[]): void {
  const unknown = ids.find((id) => !paymentProviders.has(id));
  if (unknown !== undefined) {
    throw new DomainError(
      "invalid_argument",
      `payment provider ${unknown} does not exist; known providers: ${[...paymentProviders.keys()].join(", ")}`,
    );
  }
}

/** Why a cart cannot be paid as asked; the machine-readable part goes to ErrorInfo metadata `payment_refusal`. */
export type PaymentRefusal = "no_payment_collection" | "no_payment_session" | "provider_not_in_region";

function paymentRefused(refusal: PaymentRefusal, message: string): DomainError {
  return new DomainError("failed_precondition", message, { payment_refusal: refusal });
}

function checkProviderOffered(region: Pick<Region, "id" | "paymentProviderIds">, providerId: string): void {
  if (!regionPaymentProviderIds(region).includes(providerId)) {
    throw paymentRefused("provider_not_in_region", `payment provider ${providerId} is not offered in region ${region.id}`);
  }
}

/**
 * The collection after the cart it pays for changed: the same object while
 * the cart's total and currency are unchanged; otherwise the new amount and
 * no sessions, since a session must never authorize an amount the cart no
 * longer shows.
 */
export function followCartTotal(collection: PaymentCollection, currency: string, total: bigint, now: Date): PaymentCollection {
  if (collection.amount === total && collection.currency === currency) return collection;
  return { ...collection, currency, amount: total, sessions: [], updatedAt: now };
}

export function newPaymentCollection(id: string, currency: string, total: bigint, now: Date): PaymentCollection {
  return { id, currency, amount: total, sessions: [], createdAt: now, updatedAt: now };
}

/** The collection with one new pending session with `providerId`, replacing any other. */
export function startPaymentSession(
  collection: PaymentCollection,
  region: Pick<Region, "id" | "paymentProviderIds">,
  session: { readonly id: string; readonly providerId: string; readonly data: Readonly<Record<string, string>> },
  now: Date,
): PaymentCollection {
  checkProviderOffered(region, session.providerId);
  const started: PaymentSession = {
    ...session,
    currency: collection.currency,
    amount: collection.amount,
    status: "pending",
    createdAt: now,
    updatedAt: now,
  };
  return { ...collection, sessions: [started], updatedAt: now };
}

/**
 * The collection with its session authorized, as completing the cart does,
 * or undefined when there is nothing to authorize. With `required`, a cart
 * whose total is above zero must have a collection and a session of a
 * provider its region offers. Only the system provider exists, and it
 * authorizes every session.
 */
export function authorizeForCompletion(
  collection: PaymentCollection | undefined,
  cart: { readonly total: bigint },
  region: Pick<Region, "id" | "paymentProviderIds">,
  required: boolean,
  now: Date,
): PaymentCollection | undefined {
  const mustPay = required && cart.total > 0n;
  if (!collection) {
    if (mustPay) throw paymentRefused("no_payment_collection", "it has no payment collection (CreatePaymentCollection)");
    return undefined;
  }
  const session = collection.sessions[0];
  if (!session) {
    if (mustPay) throw paymentRefused("no_payment_session", "its payment collection has no payment session (CreatePaymentSession)");
    return undefined;
  }
  if (!regionPaymentProviderIds(region).includes(session.providerId)) {
    if (mustPay) checkProviderOffered(region, session.providerId);
    return undefined;
  }
  if (session.status === "authorized") return collection;
  return { ...collection, sessions: [{ ...session, status: "authorized", updatedAt: now }], updatedAt: now };
}
