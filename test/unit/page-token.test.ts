import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { decodePageToken, effectivePageSize, toPage } from "../../src/service/page-token.js";

const key = /^k\d+$/;
const rows = ["k1", "k2", "k3", "k4"];
const filters = ["customer-1", 0];

function invalidArgument(decode: () => unknown): string {
  try {
    decode();
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    return (error as ConnectError).rawMessage;
  }
  throw new Error("the token was accepted");
}

describe("page tokens", () => {
  it("an empty token starts at the first page", () => {
    expect(decodePageToken("", filters, key)).toBeUndefined();
  });

  it("a page fetched with one row to spare gets a token that resumes after its last row", () => {
    const page = toPage(rows, 3, (row) => row, filters);
    expect(page.items).toEqual(["k1", "k2", "k3"]);
    expect(decodePageToken(page.nextPageToken, filters, key)).toBe("k3");
  });

  it("the last page, full or not, has no token", () => {
    expect(toPage(rows, 4, (row) => row, filters)).toEqual({ items: rows, nextPageToken: "" });
    expect(toPage(rows.slice(0, 2), 4, (row) => row, filters)).toEqual({ items: ["k1", "k2"], nextPageToken: "" });
    expect(toPage([], 4, (row: string) => row, filters)).toEqual({ items: [], nextPageToken: "" });
  });

  it("refuses a token replayed with other filters", () => {
    const { nextPageToken } = toPage(rows, 1, (row) => row, filters);
    expect(invalidArgument(() => decodePageToken(nextPageToken, ["customer-2", 0], key))).toMatch(/page_token.*different filters/);
    expect(invalidArgument(() => decodePageToken(nextPageToken, ["customer-1", 1], key))).toMatch(/different filters/);
  });

  it.each([
    ["garbage", "not a token!"],
    ["base64 of non-JSON", Buffer.from("hello").toString("base64url")],
    ["JSON without the fields", Buffer.from("{}").toString("base64url")],
    ["JSON array", Buffer.from("[1,2]").toString("base64url")],
    ["a key of the wrong shape", Buffer.from(JSON.stringify({ k: "'; drop table carts", f: "x" })).toString("base64url")],
    ["a truncated token", toPage(rows, 1, (row) => row, filters).nextPageToken.slice(0, 10)],
  ])("refuses a corrupted token: %s", (_, token) => {
    expect(invalidArgument(() => decodePageToken(token, filters, key))).toMatch(/page_token: must be the next_page_token of the previous response/);
  });
});

describe("effectivePageSize", () => {
  it("uses the default for 0, the request below the cap, and the cap above it", () => {
    expect(effectivePageSize(0)).toBe(50);
    expect(effectivePageSize(1)).toBe(1);
    expect(effectivePageSize(200)).toBe(200);
    expect(effectivePageSize(201)).toBe(200);
    expect(effectivePageSize(2_147_483_647)).toBe(200);
  });
});
