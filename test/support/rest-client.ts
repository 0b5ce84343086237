import { expect } from "vitest";
import { adminToken } from "./auth.js";

export interface RestAnswer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are checked field by field
  body: any;
}

/**
 * One REST call with fetch (HTTP/1.1), JSON in and out, as an ordinary HTTP
 * client makes it: with the admin token unless `headers` names another, a
 * string body sent as it is. Every answer, errors included, must be JSON.
 */
export async function restCall(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<RestAnswer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminToken}`,
      ...(body !== undefined && { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  expect(response.headers.get("content-type"), `${method} ${path}: ${text}`).toBe("application/json");
  return { status: response.status, headers: response.headers, body: JSON.parse(text) };
}
