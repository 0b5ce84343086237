/**
 * Why a domain rule refused a change. The service layer maps each reason to
 * a gRPC code; the domain itself knows nothing about transports.
 */
export type DomainErrorReason =
  | "invalid_argument" // the input is well-formed but names something the service never accepts
  | "not_found" // the cart, line or product does not exist
  | "failed_precondition" // it exists, but its state or a configured limit forbids the change
  | "conflict"; // the change was made against a version that is no longer current

export class DomainError extends Error {
  constructor(
    readonly reason: DomainErrorReason,
    message: string,
    /** Machine-readable facts for the caller, e.g. the current etag on a conflict. */
    readonly facts: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "DomainError";
  }
}
