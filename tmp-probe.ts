import * as grpc from "@grpc/grpc-js";
import { grpcJsClient } from "./test/support/grpc-js-client.js";
for (const port of [18080, 28081]) {
  const c = grpcJsClient("CartService", port);
  try { await c.CreateCart!({ customer_id: "", currency: "usd" }); } catch (e) {
    const err = e as grpc.ServiceError;
    console.log(port, err.code, JSON.stringify(err.details), err.metadata.get("x-request-id"), (err.metadata.get("grpc-status-details-bin")[0] as Buffer)?.toString("hex"));
  }
  try { await c.GetCart!({ id: "x" }); } catch (e) { const err = e as grpc.ServiceError; console.log(port, err.code, err.details); }
  c.close();
}
