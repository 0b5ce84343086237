import { createHash } from "node:crypto";
import { fromBinary, type JsonValue, type Message, toJson } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import type { IdempotencyRepository, IdempotencyScope } from "../storage/idempotency-repository.js";
import { toBinaryReusing } from "./encoded-messages.js";
import { principalKey } from "./principal.js";

export const idempotencyKeyHeader = "idempotency-key";
export const replayedHeader = "idempotent-replayed";

/** The stored response of a replayed call; the method's implementation answers with it instead of running. */
export const replayedResponseKey = createContextKey<Message | undefined>(undefined, { description: "idempotent replay" });

const keyPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/** JSON with object keys sorted, so equal requests hash equally whatever protocol or map order they came in. */
function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key]!)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Idempotent retries for every mutating method (AIP-155): a key from the
 * `Idempotency-Key` header or the request's `request_id` field, scoped to
 * (principal, method, key). The first execution's response is stored and
 * replayed byte for byte to retries with the same request; the same key with
 * a different request is refused; a retry while the first still runs is told
 * to wait. Failed executions are not stored, so they can be retried. Runs
 * after authentication and validation, so their refusals are never stored.
 */
export function createIdempotencyInterceptor(records: IdempotencyRepository, now: () => Date): Interceptor {
  return (next) => async (request) => {
    if (request.stream || request.method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) {
      return next(request);
    }
    const fromHeader = request.header.get(idempotencyKeyHeader) ?? "";
    const fromField = request.method.input.field.requestId ? String((request.message as { requestId?: string }).requestId ?? "") : "";
    if (fromHeader !== "" && fromField !== "" && fromHeader !== fromField) {
      throw new ConnectError("the Idempotency-Key header and request_id differ; send one key", Code.InvalidArgument);
    }
    const key = fromHeader || fromField;
    if (key === "") return next(request);
    if (!keyPattern.test(key)) {
      throw new ConnectError("the idempotency key must be 1-128 characters of letters, digits and . _ : -", Code.InvalidArgument);
    }
    const scope: IdempotencyScope = {
      principal: request.contextValues.get(principalKey)?.subject ?? "",
      method: `/${request.service.typeName}/${request.method.name}`,
      key,
    };
    const body = toJson(request.method.input, request.message, { useProtoFieldName: true }) as Record<string, JsonValue>;
    delete body.request_id;
    const requestHash = createHash("sha256").update(canonicalJson(body)).digest("base64url");

    const claim = await records.claim(scope, requestHash, now());
    switch (claim.kind) {
      case "mismatch":
        throw new ConnectError(`idempotency key ${key} was already used with a different request`, Code.InvalidArgument);
      case "running":
        throw new ConnectError(`a request with idempotency key ${key} is still being processed; retry shortly`, Code.Aborted);
      case "replay": {
        request.contextValues.set(replayedResponseKey, fromBinary(request.method.output, claim.response));
        const replayed = await next(request);
        replayed.header.set(replayedHeader, "true");
        return replayed;
      }
      case "claimed":
        break;
    }
    let response;
    try {
      response = await next(request);
    } catch (error) {
      await records.release(scope);
      throw error;
    }
    if (!response.stream) await records.complete(scope, toBinaryReusing(request.method.output, response.message));
    return response;
  };
}
