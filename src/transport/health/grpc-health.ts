import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import type { Readiness } from "./readiness.js";
import { registration, type ServiceRegistration } from "../protocols/services.js";

/**
 * The standard gRPC health service (grpc.health.v1) for the given services,
 * so load balancers and orchestrators can probe the process. "" asks about
 * the server as a whole; every service needs the database, so all share the
 * server's status: SERVING while the database answers and shutdown has not
 * begun, NOT_SERVING otherwise. Watch streams the status, then each change,
 * until the client leaves or the server drains (its last message then says
 * NOT_SERVING).
 */
export function healthRegistration(served: readonly DescService[], readiness: Readiness): ServiceRegistration {
  const names = new Set(["", Health.typeName, ...served.map((service) => service.typeName)]);
  const servingStatus = async () => ((await readiness.state()).ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  return registration(Health, {
    async check({ service }) {
      if (!names.has(service)) throw new ConnectError(`unknown service "${service}"`, Code.NotFound);
      return { status: await servingStatus() };
    },
    async list() {
      const status = await servingStatus();
      return { statuses: Object.fromEntries([...names].map((name) => [name, { status }])) };
    },
    async *watch({ service }, context) {
      let sent: ServingStatus | undefined;
      for (;;) {
        // As the protocol asks, an unknown service is reported, not refused, and the stream stays open.
        const status = names.has(service) ? await servingStatus() : ServingStatus.SERVICE_UNKNOWN;
        if (status !== sent) yield { status };
        sent = status;
        // A draining server ends the stream, so that its connections can close.
        if (readiness.draining) return;
        await readiness.nextChange(context.signal);
        if (context.signal.aborted) return;
      }
    },
  });
}
