/**
 * Why a domain rule refused a change. The service layer maps each reason to
 * a gRPC code; the domain itself knows nothing about transports.
 */
export type DomainErrorReason =
  | "invalid_argument" // the input is well-formed but names something the service never accepts
  | "not_found" // the cart, line or product does not exist
  | "failed_precondition"; // it exists, but its state or a configured limit forbids the change

export class DomainError extends Error {
  constructor(
    readonly reason: DomainErrorReason,
    message: string,
  ) {
    super(message);
    this.name = "DomainError";
  }
}
