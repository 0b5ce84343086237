/**
 * The service's refusals in a shopper's words: no gRPC code names, no ids,
 * no field paths. The service's messages are written for developers (they
 * name the cart, the field and the rule); the page translates the ones a
 * shopper can meet and keeps the readable rest of any other.
 */
import { Code, type ConnectError } from "@connectrpc/connect";

const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const cartById = new RegExp(`\\bcart ${uuid.source}`, "gi");

/** What a shopper must still do, by the reason `CompleteCart` gives. */
const completionSteps: Record<string, string> = {
  "it has no line items": "add something to your cart",
  "it has no email": "enter your email",
  "it has no shipping address": "enter a shipping address",
  "it has no shipping method": "choose a shipping option",
};

/** Field violations, by the field's path in the request. */
const fieldProblems: [RegExp, string][] = [
  [/^quantity$/, "Please enter a quantity of 1 or more."],
  [/^cart\.email$/, "Please enter a valid email address, like ada@example.com."],
  [/^cart\.shipping_address\.country$/, "Please enter the country as its two-letter code, like US or DE."],
  [/^cart\.shipping_address\./, "Please check the shipping address: a field is too long."],
];

export function shopperMessage(error: ConnectError): string {
  const text = error.rawMessage;
  switch (error.code) {
    case Code.Unauthenticated:
    case Code.PermissionDenied:
      return "Your session has ended. Please reload the page.";
    case Code.Aborted:
      return "Your cart was changed somewhere else, so it now shows its latest state. Please try again.";
    case Code.Unavailable:
    case Code.DeadlineExceeded:
    case Code.ResourceExhausted:
    case Code.Internal:
    case Code.Unknown:
      return "The shop cannot be reached right now. Please try again in a moment.";
    case Code.InvalidArgument: {
      const field = /^([\w.[\]]+): /.exec(text)?.[1] ?? "";
      return fieldProblems.find(([pattern]) => pattern.test(field))?.[1] ?? "Please check what you entered.";
    }
  }
  const completion = /^cart [0-9a-f-]+ cannot be completed: (.*)$/.exec(text);
  if (completion) {
    const reasons = completion[1]!.split("; ");
    const steps = reasons.flatMap((reason) => completionSteps[reason] ?? []);
    const others = reasons.filter((reason) => !(reason in completionSteps)).map(readable);
    return [
      ...(steps.length ? [`Before placing the order, please ${listed(steps)}.`] : []),
      ...(others.length ? [`The order cannot be placed${steps.length ? " either" : ""}: ${others.join("; ")}.`] : []),
    ].join(" ");
  }
  const perLine = /^quantity \d+ of product .* exceeds the maximum of (\d+) per line$/.exec(text);
  if (perLine) return `You can order at most ${perLine[1]} of one product.`;
  const unknownCode = /^promotion code "(.*)" does not exist$/.exec(text);
  if (unknownCode) return `The code ${unknownCode[1]} is not valid.`;
  return sentence(readable(text));
}

/** The message without ids, speaking of "your cart" and "the code X". */
function readable(text: string): string {
  return text
    .replace(cartById, "your cart")
    .replace(/\bthe cart\b/g, "your cart")
    .replace(/promotion code "([^"]*)"/g, "the code $1")
    .replace(uuid, "")
    .replace(/ {2,}/g, " ")
    .trim();
}

/** "a, b and c". */
function listed(items: string[]): string {
  return items.length > 1 ? `${items.slice(0, -1).join(", ")} and ${items.at(-1)}` : items[0]!;
}

function sentence(text: string): string {
  if (!text) return "That did not work. Please try again.";
  const capitalized = text[0]!.toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capitalized) ? capitalized : `${capitalized}.`;
}
