import * as grpc from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";

/**
 * A @grpc/grpc-js client of grpc.health.v1.Health built from the upstream
 * health.proto (the grpc-health-check package), as an orchestrator or a
 * load balancer calls it. Statuses are enum names.
 */
const HealthClient = grpc.makeGenericClientConstructor(healthService, "Health");

export type ServingStatusName = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

export interface HealthWatch {
  /** Every status received so far, in order. */
  readonly statuses: ServingStatusName[];
  /** The call's final status: OK when the server ended the stream, CANCELLED after cancel(). */
  readonly ended: Promise<grpc.StatusObject>;
  cancel(): void;
}

export interface GrpcJsHealth {
  check(service: string): Promise<ServingStatusName>;
  watch(service: string): HealthWatch;
  close(): void;
}

/** A client on its own connection, or on `channel` (another client's connection) when given. */
export function grpcJsHealthClient(port: number, channel?: grpc.Channel): GrpcJsHealth {
  const client = new HealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), channel && { channelOverride: channel });
  const methods = client as unknown as {
    Check(request: object, callback: (error: grpc.ServiceError | null, response?: { status: ServingStatusName }) => void): void;
    Watch(request: object): grpc.ClientReadableStream<{ status: ServingStatusName }>;
  };
  return {
    check: (service) =>
      new Promise((resolve, reject) => methods.Check({ service }, (error, response) => (error ? reject(error) : resolve(response!.status)))),
    watch(service) {
      const call = methods.Watch({ service });
      const statuses: ServingStatusName[] = [];
      call.on("data", ({ status }) => statuses.push(status));
      // A failed call reports its status both ways; "error" must be listened to, "status" tells it.
      call.on("error", () => {});
      const ended = new Promise<grpc.StatusObject>((resolve) => call.once("status", resolve));
      return { statuses, ended, cancel: () => call.cancel() };
    },
    close: () => client.close(),
  };
}
